import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this package with an `nx.json`. */
export function repoRoot(): string {
  let d = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(d, 'nx.json'))) return d;
    const up = path.dirname(d);
    if (up === d) return process.cwd();
    d = up;
  }
}

/**
 * The data root named on the command line: `--data-root`, else $FLOWFORMER_DATA_ROOT, else
 * `<repo>/data`; always absolute. A run's own data root also weighs its config's `data.root`
 * (core's `resolveDataRoot`), which sits between the flag/env and this default.
 */
export function cliDataRoot(flag?: string): string {
  const v = flag ?? process.env.FLOWFORMER_DATA_ROOT;
  return v ? path.resolve(v) : path.join(repoRoot(), 'data');
}
