/**
 * Checkpoints: a folder holding `manifest.json` (step, meta, and for every tensor its name,
 * dtype, shape and byte range) and `tensors.bin` (the raw little-endian buffers, one after
 * the other), with a CRC-32 of the binary in the manifest.
 *
 * Written atomically: everything goes to a temporary sibling folder, is fsync'ed, and is
 * then renamed into place; an existing checkpoint is first renamed aside and removed only
 * after the new one is in place. A crash at any moment leaves either the old or the new
 * checkpoint readable (`loadCheckpoint` also finds the old one if the crash fell between the
 * two renames).
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { tf } from '../tf.ts';
import type { OptimizerState } from './optim.ts';

const FORMAT = 'flowformer-checkpoint';
const VERSION = 1;

interface TensorEntry {
  name: string;
  group: 'weights' | 'optimizer';
  dtype: 'float32' | 'int32';
  shape: number[];
  offset: number;
  bytes: number;
}

interface Manifest {
  format: typeof FORMAT;
  version: number;
  step: number;
  optimizerStep: number;
  meta: Record<string, unknown>;
  tensors: TensorEntry[];
  bytes: number;
  crc32: number;
}

export interface CheckpointData {
  /** Updates done when it was written. */
  step: number;
  /** Model parameters by dotted name. */
  weights: Record<string, tf.Tensor>;
  optimizer: OptimizerState;
  /** Everything else needed to continue (data position, RNG states, best metric...), JSON-serialisable. */
  meta: Record<string, unknown>;
}

/** fs.writeSync may write less than asked (large buffers); loop until all is written. */
function writeAll(fd: number, bytes: Uint8Array) {
  for (let done = 0; done < bytes.byteLength; ) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
}

function writeFileSynced(file: string, data: Uint8Array | string) {
  const fd = fs.openSync(file, 'w');
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncDir(dir: string) {
  try {
    const fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  } catch {
    // Some filesystems do not allow fsync on directories; the renames are still atomic.
  }
}

/** Writes a checkpoint to `dir` atomically (see the module comment). */
export function saveCheckpoint(dir: string, data: CheckpointData): void {
  const parent = path.dirname(path.resolve(dir));
  fs.mkdirSync(parent, { recursive: true });
  const base = path.basename(dir);
  const tmp = path.join(parent, `.${base}.tmp-${process.pid}-${Date.now()}`);
  const old = path.join(parent, `.${base}.old-${process.pid}-${Date.now()}`);
  fs.mkdirSync(tmp);

  // Stream the tensors one by one (a large model's buffers are never all copied at once).
  const entries: TensorEntry[] = [];
  let offset = 0;
  let crc = 0;
  const fd = fs.openSync(path.join(tmp, 'tensors.bin'), 'w');
  try {
    const add = (group: TensorEntry['group'], name: string, t: tf.Tensor) => {
      if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`saveCheckpoint: '${name}' has dtype ${t.dtype}; only float32 and int32 are stored`);
      const values = t.dataSync() as Float32Array | Int32Array;
      const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      writeAll(fd, bytes);
      crc = zlib.crc32(bytes, crc);
      entries.push({ name, group, dtype: t.dtype, shape: [...t.shape], offset, bytes: bytes.byteLength });
      offset += bytes.byteLength;
    };
    for (const [n, t] of Object.entries(data.weights)) add('weights', n, t);
    for (const [n, t] of Object.entries(data.optimizer.tensors)) add('optimizer', n, t);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { recursive: true, force: true }); // a failed save leaves the previous checkpoint untouched
    throw e;
  }
  fs.closeSync(fd);
  const manifest: Manifest = {
    format: FORMAT,
    version: VERSION,
    step: data.step,
    optimizerStep: data.optimizer.step,
    meta: data.meta,
    tensors: entries,
    bytes: offset,
    crc32: crc,
  };
  writeFileSynced(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 1));
  fsyncDir(tmp);

  // Swap: old aside, new in place, old removed. Every intermediate state has a readable checkpoint.
  const hadOld = fs.existsSync(dir);
  if (hadOld) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  fsyncDir(parent);
  if (hadOld) fs.rmSync(old, { recursive: true, force: true });
}

/** The folder to read: `dir`, or the previous version if a crash fell between the two renames. */
function locate(dir: string): string | null {
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return dir;
  const parent = path.dirname(path.resolve(dir));
  const prefix = `.${path.basename(dir)}.old-`;
  const olds = fs.existsSync(parent) ? fs.readdirSync(parent).filter((n) => n.startsWith(prefix)).sort() : [];
  return olds.length ? path.join(parent, olds[olds.length - 1]!) : null;
}

export function checkpointExists(dir: string): boolean {
  return locate(dir) !== null;
}

function readManifest(dir: string): { where: string; manifest: Manifest } {
  const where = locate(dir);
  if (!where) throw new Error(`no checkpoint at ${dir} (expected ${path.join(dir, 'manifest.json')})`);
  const manifest = JSON.parse(fs.readFileSync(path.join(where, 'manifest.json'), 'utf8')) as Manifest;
  if (manifest.format !== FORMAT || manifest.version !== VERSION) {
    throw new Error(`${where}/manifest.json: not a ${FORMAT} v${VERSION} (format ${manifest.format}, version ${manifest.version})`);
  }
  return { where, manifest };
}

/** Step and meta of a checkpoint, without loading its tensors. */
export function readCheckpointInfo(dir: string): { step: number; meta: Record<string, unknown> } {
  const { manifest } = readManifest(dir);
  return { step: manifest.step, meta: manifest.meta };
}

/** Reads a checkpoint; the caller owns (and disposes) the returned tensors. Corruption is an error naming the file. */
export function loadCheckpoint(dir: string): CheckpointData {
  const { where, manifest } = readManifest(dir);
  const binPath = path.join(where, 'tensors.bin');
  const bin = fs.readFileSync(binPath);
  if (bin.byteLength !== manifest.bytes || zlib.crc32(bin) !== manifest.crc32) {
    throw new Error(`${binPath}: corrupt checkpoint (size ${bin.byteLength}, expected ${manifest.bytes}, or CRC mismatch); use another checkpoint (ckpt/best or ckpt/last)`);
  }
  const weights: Record<string, tf.Tensor> = {};
  const opt: Record<string, tf.Tensor> = {};
  for (const e of manifest.tensors) {
    // Copy into an aligned buffer: the slice of a Node Buffer may not be 4-byte aligned.
    const raw = new Uint8Array(e.bytes);
    raw.set(bin.subarray(e.offset, e.offset + e.bytes));
    const values = e.dtype === 'int32' ? new Int32Array(raw.buffer) : new Float32Array(raw.buffer);
    (e.group === 'weights' ? weights : opt)[e.name] = tf.tensor(values, e.shape, e.dtype);
  }
  return { step: manifest.step, weights, optimizer: { step: manifest.optimizerStep, tensors: opt }, meta: manifest.meta };
}

export function disposeCheckpoint(c: CheckpointData): void {
  tf.dispose(Object.values(c.weights));
  tf.dispose(Object.values(c.optimizer.tensors));
}
