/** Paths shared by the tests: the repository root and the read-only shared data next to it. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const sharedData = path.resolve(repoRoot, '../shared/data');

/** The path of a shared data file, and why tests that need it skip when it is absent. */
export function shared(rel: string): { path: string; present: boolean; reason: string } {
  const p = path.join(sharedData, rel);
  const present = existsSync(p);
  return { path: p, present, reason: present ? '' : `skipped: ${p} is absent (the shared real data is not on this machine)` };
}

/** A fresh temporary folder; call the returned cleanup in afterAll. */
export function tempDir(prefix = 'imagenet-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
