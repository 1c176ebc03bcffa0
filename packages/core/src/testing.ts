/**
 * Helpers the packages' tests share, imported as `@flowformer/core/testing` (a subpath of its
 * own, so that nothing of it enters the library's public API): the repository root, the
 * read-only shared real data beside it, and scratch folders.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file (packages/core/src/testing.ts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The shared real data: `../shared/data` from the repository root (read-only; never write there). */
export const sharedData = path.resolve(repoRoot, '../shared/data');

/** The path of a shared data file, and why tests that need it skip when it is absent. */
export function shared(rel: string): { path: string; present: boolean; reason: string } {
  const p = path.join(sharedData, rel);
  const present = existsSync(p);
  return { path: p, present, reason: present ? '' : `skipped: ${p} is absent (the shared real data is not on this machine)` };
}

/** A fresh temporary folder named after `prefix` (say, the package); call the returned cleanup in afterAll. */
export function tempDir(prefix = 'flowformer-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The golden reference files, vendored from the original code's outputs into `fixtures/golden/`
 * (see its README), so every golden test runs in a fresh clone. JSON files are stored gzipped.
 */
export const goldenRoot = path.join(repoRoot, 'fixtures/golden');

/** The path of a vendored golden file, e.g. `models/uea/learnable.safetensors`. */
export function goldenPath(rel: string): string {
  const p = path.join(goldenRoot, rel);
  if (!existsSync(p)) throw new Error(`golden fixture ${p} is missing: the repository's fixtures/golden/ is incomplete`);
  return p;
}

/** A vendored golden JSON file by its original name (`flow_attention.json`), read from its `.gz`. */
export function readGoldenJson<T>(name: string): T {
  return JSON.parse(gunzipSync(readFileSync(goldenPath(`${name}.gz`))).toString('utf8')) as T;
}
