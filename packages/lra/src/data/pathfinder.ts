/**
 * LRA "Pathfinder" reader: the release layout of Linsley et al.'s generator.
 *
 *   <root>/curv_contour_length_14/imgs/<batch>/sample_<n>.png
 *   <root>/curv_contour_length_14/metadata/<batch>.npy
 *
 * Despite the extension, each metadata file is text: one row per image, fields separated by
 * single spaces: `subpath file_name index label continuity contour_length distractor_length
 * paddle_length paddle_thickness paddle_margin num_contrasts` (LRA reads fields 0, 1 and 3).
 * The image is `<condition>/<subpath>/<file_name>`, a grayscale PNG; its pixels (0-255) are
 * the tokens. As LRA, empty image files (a few exist in the release) are skipped, and the
 * examples are split 80/10/10 into train/val/test in metadata order (files by batch number).
 * Conditions: easy = `curv_baseline`, intermediate = `curv_contour_length_9`,
 * hard = `curv_contour_length_14` (the Flowformer paper's Pathfinder).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataFormatError, MissingDataError } from './errors.ts';
import { decodeGrayImage, mapLimit, type PixelImages, subsetImages } from './image.ts';

export const PATHFINDER_CONDITIONS = { easy: 'curv_baseline', intermediate: 'curv_contour_length_9', hard: 'curv_contour_length_14' } as const;
export type PathfinderDifficulty = keyof typeof PATHFINDER_CONDITIONS;

export const PATHFINDER_HOW_TO_GET =
  'Pathfinder comes with the LRA release (https://storage.googleapis.com/long-range-arena/lra_release.gz, ' +
  "folder lra_release/pathfinder32/), or generate it here: 'flowformer data generate --task lra --dataset pathfinder'.";

export interface PathfinderEntry {
  file: string;
  label: number;
  /** Metadata file and line it came from (for messages). */
  source: string;
  line: number;
}

/** Reads every metadata row of a condition folder, batches in numeric order. */
export function readPathfinderMetadata(conditionDir: string): PathfinderEntry[] {
  const metaDir = path.join(conditionDir, 'metadata');
  if (!existsSync(metaDir) || !statSync(metaDir).isDirectory()) throw new MissingDataError('Pathfinder metadata folder', metaDir, PATHFINDER_HOW_TO_GET);
  const files = readdirSync(metaDir)
    .filter((n) => n.endsWith('.npy'))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || (a < b ? -1 : 1));
  if (files.length === 0) throw new DataFormatError(metaDir, undefined, 'no metadata files (<batch>.npy)');
  const out: PathfinderEntry[] = [];
  for (const name of files) {
    const mf = path.join(metaDir, name);
    const text = readFileSync(mf, 'utf8');
    if (text.startsWith('\u0093NUMPY')) {
      throw new DataFormatError(mf, undefined, 'this is a binary NumPy array, not the text rows of the LRA release; convert it with numpy.savetxt(fmt="%s")');
    }
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!.replace(/\r$/, '');
      if (raw.trim() === '') continue;
      const f = raw.split(' ');
      if (f.length < 4) throw new DataFormatError(mf, i + 1, `expected at least 4 space-separated fields (subpath, file name, index, label), found ${f.length}`);
      if (f[3] !== '0' && f[3] !== '1') throw new DataFormatError(mf, i + 1, `label (4th field) must be 0 or 1, found '${f[3]}'`);
      out.push({ file: path.join(conditionDir, f[0]!, f[1]!), label: Number(f[3]), source: mf, line: i + 1 });
    }
  }
  return out;
}

/**
 * Decodes every image of a condition folder. Missing images are errors (naming the metadata
 * row); zero-byte images are skipped as LRA skips them, and counted in `skipped`.
 */
export async function readPathfinder(conditionDir: string, resolution = 32, limit?: number): Promise<PixelImages & { skipped: number }> {
  let entries = readPathfinderMetadata(conditionDir);
  if (limit !== undefined) entries = entries.slice(0, limit);
  const keep: PathfinderEntry[] = [];
  let skipped = 0;
  for (const e of entries) {
    let size: number;
    try {
      size = statSync(e.file).size;
    } catch {
      throw new DataFormatError(e.source, e.line, `image ${e.file} does not exist`);
    }
    if (size === 0) skipped++;
    else keep.push(e);
  }
  const n = resolution * resolution;
  const pixels = new Uint8Array(keep.length * n);
  await mapLimit(keep, 8, async (e, i) => pixels.set(await decodeGrayImage(e.file, resolution, resolution), i * n));
  return { pixels, labels: Int32Array.from(keep.map((e) => e.label)), height: resolution, width: resolution, count: keep.length, skipped };
}

/** LRA's split of a condition: the first 80% train, the next 10% validate, the last 10% test. */
export function splitPathfinder(x: PixelImages): { train: PixelImages; val: PixelImages; test: PixelImages } {
  const a = Math.round(x.count * 0.8);
  const b = Math.round(x.count * 0.9);
  const range = (s: number, e: number) => Int32Array.from({ length: e - s }, (_, i) => s + i);
  return { train: subsetImages(x, range(0, a)), val: subsetImages(x, range(a, b)), test: subsetImages(x, range(b, x.count)) };
}

const CACHE_MAGIC = 0x4c524150; // 'LRAP'

/** Cache key: the condition folder, the resolution, and every metadata file's name, size and time. */
function cacheKey(conditionDir: string, resolution: number): string {
  const metaDir = path.join(conditionDir, 'metadata');
  const h = createHash('sha256').update(`${path.resolve(conditionDir)}|${resolution}`);
  for (const n of readdirSync(metaDir).sort()) {
    const st = statSync(path.join(metaDir, n));
    h.update(`|${n}:${st.size}:${st.mtimeMs}`);
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * `readPathfinder` with the decoded pixels cached in `cacheDir` (200,000 PNGs take minutes
 * to decode; the cache loads in about a second). The cache is keyed by the metadata files,
 * so regenerated data is decoded again; it is written atomically.
 */
export async function readPathfinderCached(conditionDir: string, resolution: number, cacheDir: string, log: (m: string) => void = () => {}): Promise<PixelImages & { skipped: number }> {
  const key = cacheKey(conditionDir, resolution);
  const file = path.join(cacheDir, 'lra', `pathfinder-${key}.bin`);
  const n = resolution * resolution;
  if (existsSync(file)) {
    const b = readFileSync(file);
    const head = new Uint32Array(b.buffer, b.byteOffset, 4);
    if (head[0] === CACHE_MAGIC && head[3] === resolution && b.length === 16 + head[1]! * (4 + n)) {
      const count = head[1]!;
      const labels = new Int32Array(count);
      labels.set(new Int32Array(b.buffer.slice(b.byteOffset + 16, b.byteOffset + 16 + 4 * count)));
      const pixels = new Uint8Array(b.buffer.slice(b.byteOffset + 16 + 4 * count, b.byteOffset + b.length));
      log(`lra/pathfinder: ${count} decoded images from the cache ${file}`);
      return { pixels, labels, height: resolution, width: resolution, count, skipped: head[2]! };
    }
  }
  log(`lra/pathfinder: decoding the images of ${conditionDir} (cached afterwards in ${file})`);
  const x = await readPathfinder(conditionDir, resolution);
  mkdirSync(path.dirname(file), { recursive: true });
  const head = Buffer.from(new Uint32Array([CACHE_MAGIC, x.count, x.skipped, resolution]).buffer);
  writeFileSync(`${file}.tmp`, Buffer.concat([head, Buffer.from(x.labels.buffer, x.labels.byteOffset, x.labels.byteLength), Buffer.from(x.pixels)]));
  renameSync(`${file}.tmp`, file);
  return x;
}
