/**
 * Where a dataset folder came from: the LRA release (downloaded, what the paper's numbers were
 * measured on) or one of our generators. Generated sets live in their own folders
 * (`lra/listops-generated/<name>/`, `lra/pathfinder-generated/<name>/<condition>/`) and carry a
 * `provenance.json` written beside their files, so that a table can tell a regeneration from the
 * release and say so.
 */
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PATHFINDER_CONDITIONS } from './pathfinder.ts';

export const PROVENANCE_FILE = 'provenance.json';

/** The folders (relative to the data root) that hold generated sets, one subfolder per set. */
export const LRA_GENERATED_ROOTS = { listops: 'lra/listops-generated', pathfinder: 'lra/pathfinder-generated' } as const;

/** What `provenance.json` holds. */
export interface DataProvenance {
  /** The function that wrote the files, e.g. `@flowformer/lra generateListOpsSplits`. */
  generator: string;
  /** Version of @flowformer/lra that wrote them. */
  version: string;
  seed: number;
  /** Everything else the output depends on: sizes, rules with their defaults filled in, difficulty. */
  args: Record<string, unknown>;
  /** ISO 8601 time of writing. */
  createdAt: string;
}

export interface DataOrigin {
  kind: 'release' | 'generated';
  /** The generated set's provenance.json; absent for the release (and for a generated folder that lost it). */
  provenance?: DataProvenance;
}

/** The version of this package (packages/lra/package.json), recorded with every generated set. */
export function lraPackageVersion(): string {
  const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** Writes `dir/provenance.json` (through a temporary name, like the data files). */
export function writeProvenance(dir: string, p: Omit<DataProvenance, 'version' | 'createdAt'> & Partial<Pick<DataProvenance, 'version' | 'createdAt'>>): DataProvenance {
  const full: DataProvenance = { generator: p.generator, version: p.version ?? lraPackageVersion(), seed: p.seed, args: p.args, createdAt: p.createdAt ?? new Date().toISOString() };
  const f = path.join(dir, PROVENANCE_FILE);
  writeFileSync(`${f}.tmp`, `${JSON.stringify(full, null, 2)}\n`);
  renameSync(`${f}.tmp`, f);
  return full;
}

function readProvenance(file: string): DataProvenance {
  let p: DataProvenance;
  try {
    p = JSON.parse(readFileSync(file, 'utf8')) as DataProvenance;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message}); regenerate the set with --force`);
  }
  for (const field of ['generator', 'version', 'seed', 'args', 'createdAt'] as const) {
    if (p[field] === undefined) throw new Error(`${file}: field '${field}' is missing; regenerate the set with --force`);
  }
  return p;
}

/**
 * Release or generated, for the folder a run reads: a ListOps set folder, a Pathfinder
 * condition folder (`.../curv_contour_length_14`) or a Pathfinder set folder (then its
 * conditions are looked at, hard first). A folder under a `*-generated` root (or a mini set's
 * folder of before, `*-mini`) is generated even when its provenance.json is missing; anything
 * else without one is taken for the release.
 */
export function dataProvenance(dir: string): DataOrigin {
  const candidates = [dir, ...Object.values(PATHFINDER_CONDITIONS).reverse().map((c) => path.join(dir, c))];
  for (const d of candidates) {
    const f = path.join(d, PROVENANCE_FILE);
    if (existsSync(f)) return { kind: 'generated', provenance: readProvenance(f) };
  }
  const parts = path.resolve(dir).split(path.sep);
  if (parts.some((p) => p.endsWith('-generated'))) return { kind: 'generated' };
  // Before generated sets had folders of their own, the mini sets were generated into
  // lra/listops-mini/ and lra/pathfinder32-mini/ (records of those runs name them).
  if (parts.some((p) => /^(listops|pathfinder32)-mini$/.test(p))) return { kind: 'generated' };
  return { kind: 'release' };
}
