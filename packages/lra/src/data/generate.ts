/**
 * `flowformer data generate --task lra --dataset listops|pathfinder [--size full|mini|N]`:
 * the two LRA tasks that are synthetic by definition, generated here in the release's own
 * file formats, so that every reader is the same for generated and downloaded data.
 *
 * Generated sets never go where the LRA release goes (`lra/listops/`, `lra/pathfinder32/`):
 * each has a folder of its own, named after its size (and its seed when not the default), with
 * a provenance.json (generator, version, seed, arguments, time) beside the files:
 *   lra/listops-generated/full/basic_{train,val,test}.tsv      LRA rules (500 < length < 2000)
 *   lra/listops-generated/mini/basic_{train,val,test}.tsv      short trees for the mini config
 *   lra/listops-generated/96/...                               96 training trees, LRA rules
 *   lra/pathfinder-generated/full/curv_contour_length_14/{imgs,metadata}   LRA's 32x32 "hard"
 *   lra/pathfinder-generated/mini/curv_baseline/...            the mini config's small "easy" set
 *
 * Each Pathfinder difficulty has its own condition folder (the release's curv_baseline,
 * curv_contour_length_9, curv_contour_length_14), so a set of one difficulty is never read
 * for another.
 *
 * Files are written to a temporary name and renamed when complete, so an interrupted run
 * never leaves a half-written dataset that a later run would take for a finished one.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '@flowformer/core';
import { formatListOpsTsv, generateListOpsSplits, listopsGeneratorDefaults, LRA_LISTOPS_SIZES, type ListOpsGeneratorArgs, type ListOpsSplitSizes } from './listops.ts';
import { PATHFINDER_CONDITIONS, readPathfinderMetadata, type PathfinderDifficulty } from './pathfinder.ts';
import { pathfinderDefaults, PATHFINDER_CONTOUR_LENGTH, writePathfinder, type PathfinderArgs } from './pathfinder-gen.ts';
import { LRA_GENERATED_ROOTS, writeProvenance } from './provenance.ts';

export type LraGeneratedDataset = 'listops' | 'pathfinder';
/** `full` = LRA's sizes and rules; `mini` = the small sets of the mini configs; a number = that many (training) examples with LRA's rules. */
export type LraGenerateSize = 'full' | 'mini' | number;

/** The mini ListOps rules: shallow, short trees that a small model learns in minutes. */
export const LISTOPS_MINI_RULES: ListOpsGeneratorArgs = { maxDepth: 4, maxArgs: 5, minLength: 10, maxLength: 64 };
export const LISTOPS_MINI_SIZES: ListOpsSplitSizes = { train: 8000, val: 500, test: 1000 };
/** LRA's Pathfinder-32 has 200,000 images per difficulty (160k/20k/20k after the 80/10/10 split). */
export const PATHFINDER_FULL_COUNT = 200_000;
/**
 * The mini set: 20,000 images (16k/2k/2k). Generating them takes under a minute; 2,000 test
 * images resolve accuracy to about +-1 point (a 4,000-image set gave 400 test images).
 */
export const PATHFINDER_MINI_COUNT = 20_000;

/** Where the LRA release puts each synthetic dataset (relative to the data root); generators never write there. */
export const LRA_RELEASE_DIRS = { listops: 'lra/listops', pathfinder: 'lra/pathfinder32' } as const;

/** The seed a generated set of this size uses unless told otherwise: 1 for mini, 0 otherwise. */
export function defaultGenerateSeed(size: LraGenerateSize): number {
  return size === 'mini' ? 1 : 0;
}

/**
 * The folder (relative to the data root) of a generated set: `<generated root>/<size>`, with
 * `-seed<S>` appended when the seed is not the size's default (two seeds never share a folder).
 */
export function lraDataDir(dataset: LraGeneratedDataset, size: LraGenerateSize, seed?: number): string {
  const name = `${size}${seed !== undefined && seed !== defaultGenerateSeed(size) ? `-seed${seed}` : ''}`;
  return `${LRA_GENERATED_ROOTS[dataset]}/${name}`;
}

export interface LraGenerateArgs {
  dataset: LraGeneratedDataset;
  /** Absolute data root. */
  dataRoot: string;
  size?: LraGenerateSize;
  /** Default 0 for full, 1 for mini (any fixed number: the data is reproducible from it). */
  seed?: number;
  /** Pathfinder difficulty. Default 'hard' (contour length 14, the Flowformer paper's). */
  difficulty?: PathfinderDifficulty;
  /** Overrides of the generator rules. */
  listops?: ListOpsGeneratorArgs;
  pathfinder?: PathfinderArgs;
  /** Regenerate even if the files exist. */
  force?: boolean;
  log?: (msg: string) => void;
}

export interface LraGenerateResult {
  /** Absolute folder written (for Pathfinder, the condition folder). */
  dir: string;
  /** Example counts per split (ListOps) or images (Pathfinder). */
  counts: Record<string, number>;
  /** False when the data already existed and nothing was written. */
  generated: boolean;
  seconds: number;
}

/**
 * Whether the generated files of a set are already in place. For Pathfinder `mini` and
 * numbered sizes the metadata must also list exactly that many images: a set written with
 * another count (e.g. the earlier 4,000-image mini set) is stale and gets regenerated.
 * `full` only needs the folder (counting 200,000 metadata rows on every start is not worth it).
 */
export function lraGeneratedPresent(dataRoot: string, dataset: LraGeneratedDataset, size: LraGenerateSize, difficulty: PathfinderDifficulty = 'hard', seed?: number): boolean {
  const dir = path.join(dataRoot, lraDataDir(dataset, size, seed));
  if (dataset === 'listops') return ['train', 'val', 'test'].every((s) => existsSync(path.join(dir, `basic_${s}.tsv`)));
  const cond = path.join(dir, PATHFINDER_CONDITIONS[difficulty]);
  if (!existsSync(path.join(cond, 'metadata'))) return false;
  if (size === 'full') return true;
  return readPathfinderMetadata(cond).length === pathfinderCount(size);
}

/** Images of a generated Pathfinder set of this size. */
function pathfinderCount(size: LraGenerateSize): number {
  return size === 'full' ? PATHFINDER_FULL_COUNT : size === 'mini' ? PATHFINDER_MINI_COUNT : size;
}

export async function generateLraData(args: LraGenerateArgs): Promise<LraGenerateResult> {
  const size = args.size ?? 'full';
  if (typeof size === 'number' && !(Number.isInteger(size) && size > 0)) throw new Error(`--size must be 'full', 'mini' or a positive integer, got ${size}`);
  const log = args.log ?? (() => {});
  const t0 = Date.now();
  const seed = args.seed ?? defaultGenerateSeed(size);
  const rng = new Rng(seed);
  const dir = path.join(args.dataRoot, lraDataDir(args.dataset, size, seed));
  const difficulty = args.difficulty ?? 'hard';

  if (args.dataset === 'listops') {
    const sizes: ListOpsSplitSizes =
      size === 'full' ? LRA_LISTOPS_SIZES : size === 'mini' ? LISTOPS_MINI_SIZES : { train: size, val: Math.ceil(size / 48), test: Math.ceil(size / 48) };
    const counts = { train: sizes.train, val: sizes.val, test: sizes.test };
    if (!args.force && lraGeneratedPresent(args.dataRoot, 'listops', size, undefined, seed)) {
      log(`ListOps already present in ${dir} (use --force to regenerate)`);
      return { dir, counts, generated: false, seconds: 0 };
    }
    const rules = { ...(size === 'mini' ? LISTOPS_MINI_RULES : {}), ...args.listops };
    log(`generating ListOps ${sizes.train}/${sizes.val}/${sizes.test} (seed ${seed}) into ${dir}`);
    const splits = generateListOpsSplits(rng, sizes, rules);
    mkdirSync(dir, { recursive: true });
    for (const s of ['train', 'val', 'test'] as const) {
      const f = path.join(dir, `basic_${s}.tsv`);
      writeFileSync(`${f}.tmp`, formatListOpsTsv(splits[s]));
      renameSync(`${f}.tmp`, f);
    }
    writeProvenance(dir, { generator: '@flowformer/lra generateListOpsSplits', seed, args: { dataset: 'listops', size, splits: counts, rules: listopsGeneratorDefaults(rules) } });
    return { dir, counts, generated: true, seconds: (Date.now() - t0) / 1000 };
  }

  if (args.dataset === 'pathfinder') {
    const count = pathfinderCount(size);
    const cond = path.join(dir, PATHFINDER_CONDITIONS[difficulty]);
    if (!args.force && lraGeneratedPresent(args.dataRoot, 'pathfinder', size, difficulty, seed)) {
      log(`Pathfinder already present in ${cond} (use --force to regenerate)`);
      return { dir: cond, counts: { images: count }, generated: false, seconds: 0 };
    }
    // Write into a sibling temporary root, then move the finished condition folder in place.
    const tmpRoot = `${dir}.tmp-${process.pid}`;
    rmSync(tmpRoot, { recursive: true, force: true });
    log(`generating ${count} Pathfinder images (${difficulty}, seed ${seed}) into ${cond}`);
    let lastPct = -1;
    const written = await writePathfinder(rng, {
      root: tmpRoot,
      count,
      difficulty,
      args: args.pathfinder,
      onProgress: (done, total) => {
        const pct = Math.floor((100 * done) / total);
        if (pct >= lastPct + 10) {
          lastPct = pct;
          log(`  ${done}/${total} images`);
        }
      },
    });
    const rules = pathfinderDefaults({ contourLength: PATHFINDER_CONTOUR_LENGTH[difficulty], ...args.pathfinder });
    writeProvenance(written, { generator: '@flowformer/lra writePathfinder', seed, args: { dataset: 'pathfinder', size, images: count, difficulty, rules } });
    mkdirSync(dir, { recursive: true });
    rmSync(cond, { recursive: true, force: true });
    renameSync(written, cond);
    rmSync(tmpRoot, { recursive: true, force: true });
    return { dir: cond, counts: { images: count }, generated: true, seconds: (Date.now() - t0) / 1000 };
  }
  throw new Error(`flowformer data generate --task lra: unknown dataset '${args.dataset as string}'; choose listops or pathfinder (the others are downloaded: 'flowformer data download --task lra')`);
}
