/**
 * Fetching a UEA dataset from the archive, the way sktime's `load_UCR_UEA_dataset` does:
 * `https://timeseriesclassification.com/aeon-toolkit/<Name>.zip`, unpacked so that the data
 * root holds `uea/<Name>/<Name>_{TRAIN,TEST}.ts` (or, when the archive only has them, the
 * per-dimension `uea/<Name>/<Name>Dimension<k>_{TRAIN,TEST}.arff`).
 *
 * The zip is downloaded to `uea/.downloads/<Name>.zip` (resumable), unpacked into a scratch
 * folder beside the target, and only the split files are moved into `uea/<Name>/`; both
 * splits are parsed before the call returns, so a bad archive fails here, not in training.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { basename as base, dirname, join, relative } from 'node:path';
import { download, extract, type DownloadProgress } from '@flowformer/core/io';
import { hasUeaDataset, readUeaSplit, ueaDatasetDir } from './load.ts';

/** Where sktime (and aeon) fetch single UEA/UCR datasets from. */
export const UEA_ARCHIVE_URL = 'https://timeseriesclassification.com/aeon-toolkit';

export interface DownloadUeaArgs {
  /** Base URL holding `<Name>.zip` (tests point this at a local server). Default `UEA_ARCHIVE_URL`. */
  baseUrl?: string;
  /** Expected sha256 of the zip, when known. */
  sha256?: string;
  /** Download again even if both splits are already present. */
  force?: boolean;
  onProgress?: (p: DownloadProgress) => void;
  log?: (msg: string) => void;
}

export interface DownloadUeaResult {
  dir: string;
  /** File names moved into `dir`. */
  files: string[];
  /** False when the dataset was already present and nothing was fetched. */
  downloaded: boolean;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Downloads and unpacks dataset `name` under `<dataRoot>/uea/<name>/`. */
export async function downloadUea(name: string, dataRoot: string, args: DownloadUeaArgs = {}): Promise<DownloadUeaResult> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) {
    throw new Error(`'${name}' is not a UEA dataset name (letters, digits, '-' and '_', as in 'JapaneseVowels' or 'PEMS-SF')`);
  }
  const log = args.log ?? (() => {});
  const dir = ueaDatasetDir(dataRoot, name);
  if (!args.force && hasUeaDataset(dataRoot, name)) {
    log(`${name}: already present in ${dir}`);
    return { dir, files: [], downloaded: false };
  }
  const url = `${(args.baseUrl ?? UEA_ARCHIVE_URL).replace(/\/+$/, '')}/${encodeURIComponent(name)}.zip`;
  const archive = join(dataRoot, 'uea', '.downloads', `${name}.zip`);
  log(`${name}: downloading ${url}`);
  await download(url, archive, { sha256: args.sha256, onProgress: args.onProgress });

  const scratch = join(dataRoot, 'uea', `.extract-${name}-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  try {
    await extract(archive, scratch);
    const files = walk(scratch);
    // Prefer the .ts pair; else every per-dimension ARFF file of both splits.
    const ts = ['TRAIN', 'TEST'].map((s) => files.find((f) => base(f) === `${name}_${s}.ts`));
    let chosen: string[];
    if (ts.every((f) => f !== undefined)) {
      chosen = ts as string[];
    } else {
      const dimRe = new RegExp(`^${escapeRe(name)}Dimension\\d+_(TRAIN|TEST)\\.arff$`);
      chosen = files.filter((f) => dimRe.test(base(f)));
      const splits = new Set(chosen.map((f) => /_(TRAIN|TEST)\.arff$/.exec(f)![1]));
      if (!(splits.has('TRAIN') && splits.has('TEST'))) {
        const listing = files.map((f) => relative(scratch, f)).slice(0, 20).join(', ');
        throw new Error(
          `${url}: the archive has neither ${name}_TRAIN.ts and ${name}_TEST.ts nor ${name}Dimension<k>_{TRAIN,TEST}.arff files (it holds: ${listing || 'nothing'}); is '${name}' spelled as on timeseriesclassification.com?`,
        );
      }
    }
    mkdirSync(dir, { recursive: true });
    const moved: string[] = [];
    for (const f of chosen) {
      const target = join(dir, base(f));
      if (existsSync(target)) unlinkSync(target);
      renameSync(f, target);
      moved.push(base(f));
    }
    // Parse both splits now: a broken archive is reported here, with file and line.
    for (const split of ['TRAIN', 'TEST'] as const) {
      const s = readUeaSplit(dataRoot, name, split);
      log(`${name} ${split}: ${s.series.length} cases, ${s.numDims} dimensions, ${new Set(s.labels).size} classes`);
    }
    unlinkSync(archive);
    if (readdirSync(dirname(archive)).length === 0) rmdirSync(dirname(archive));
    return { dir, files: moved.sort(), downloaded: true };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
