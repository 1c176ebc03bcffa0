/** Test helpers: where the shared real data lives, and scratch folders for generated files. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The data root the tests read real UEA files from (FLOWFORMER_DATA_ROOT, else ../shared/data). */
export const dataRoot = process.env.FLOWFORMER_DATA_ROOT ? resolve(process.env.FLOWFORMER_DATA_ROOT) : resolve(repoRoot, '../shared/data');

/** Null when the dataset is present, else the reason a test needing it is skipped. */
export function missingReason(name: string): string | null {
  const dir = join(dataRoot, 'uea', name);
  return existsSync(dir) ? null : `skipped: ${dir} not found (set FLOWFORMER_DATA_ROOT to a data root with uea/${name}/)`;
}

/** A scratch folder removed by the returned cleanup. */
export function scratch(prefix = 'uea-test-'): { dir: string; write: (name: string, text: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write: (name, text) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
