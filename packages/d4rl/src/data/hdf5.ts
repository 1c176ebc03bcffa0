/**
 * Reading and writing D4RL HDF5 files (the `*-v2.hdf5` files of the gym locomotion datasets).
 *
 * Layout (one row per environment step, N rows):
 *   observations       [N, obsDim]  float32
 *   actions            [N, actDim]  float32
 *   rewards            [N] (or [N, 1]) float32
 *   terminals          [N] (or [N, 1]) bool   (h5py writes bool as an int8 enum)
 *   timeouts           [N] bool      (optional in old files; every v2 file has it)
 *   next_observations  [N, obsDim]   (optional)
 *   infos/*            [N, ...]      (optional: qpos, qvel, action_log_probs, ...)
 *   metadata/*                       (ignored)
 *
 * D4RL itself squeezes `[N, 1]` rewards/terminals to `[N]`; we do the same. h5wasm 0.10.3
 * is ESM-only in Node, hence the dynamic `import('h5wasm/node')`.
 */
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';

/** A D4RL dataset in memory: flat row-major arrays. */
export interface D4rlData {
  /** Number of steps (rows). */
  size: number;
  obsDim: number;
  actDim: number;
  /** [N, obsDim] */
  observations: Float32Array;
  /** [N, actDim] */
  actions: Float32Array;
  /** [N] */
  rewards: Float32Array;
  /** [N] 1 where the episode ended by termination (the agent fell), else 0. */
  terminals: Uint8Array;
  /** [N] 1 where the episode was cut by the time limit, else 0; null when the file has none. */
  timeouts: Uint8Array | null;
  /** [N, obsDim] when present in the file. */
  nextObservations: Float32Array | null;
  /** `infos/*` datasets, flattened row-major, with their shapes. */
  infos: Record<string, { shape: number[]; data: Float32Array | Float64Array }>;
}

type H5 = typeof import('h5wasm');
let h5Promise: Promise<H5> | null = null;

/** h5wasm, loaded once (its WebAssembly module takes ~100 ms to start). */
export async function loadH5(): Promise<H5> {
  h5Promise ??= (async () => {
    const h5 = (await import('h5wasm/node')) as unknown as H5;
    await h5.ready;
    return h5;
  })();
  return h5Promise;
}

/** Error in a D4RL file, naming the file and the dataset, and saying what to do. */
export class D4rlFileError extends Error {
  constructor(file: string, dataset: string | null, problem: string, hint: string) {
    super(`${file}${dataset ? `: dataset '${dataset}'` : ''}: ${problem}. ${hint}`);
    this.name = 'D4rlFileError';
  }
}

const REDOWNLOAD = 'Delete the file and fetch it again (flowformer data download --task d4rl), or regenerate it (flowformer data generate --task d4rl)';
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * What is wrong with a file before HDF5 sees it: not HDF5 at all, or shorter than the size its
 * superblock records (an interrupted download). Reads the superblock directly (versions 0-3)
 * so the message can give both sizes (HDF5 itself would only print a diagnostic to stderr).
 * Returns null when the file looks whole.
 */
function precheck(path: string): string | null {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 128));
    readSync(fd, head, 0, head.length, 0);
    if (head.length < 8 || HDF5_SIGNATURE.some((b, i) => head[i] !== b)) {
      return `is not an HDF5 file (no HDF5 signature in its first bytes; ${size} bytes)`;
    }
    const version = head[8]!;
    let eofAt: number;
    let offsetSize: number;
    if (version === 0 || version === 1) {
      offsetSize = head[13]!;
      // base address follows 8 + 16 bytes of fields (+4 in version 1), then free-space address
      eofAt = 24 + (version === 1 ? 4 : 0) + 2 * offsetSize;
    } else {
      offsetSize = head[9]!;
      eofAt = 12 + 2 * offsetSize;
    }
    if ((offsetSize === 8 || offsetSize === 4) && eofAt + offsetSize <= head.length) {
      const stored = offsetSize === 8 ? Number(head.readBigUInt64LE(eofAt)) : head.readUInt32LE(eofAt);
      if (stored > size) return `is truncated: it has ${size} bytes but its HDF5 superblock records ${stored}`;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

interface H5Dataset {
  shape: number[] | null;
  dtype: unknown;
  value: unknown;
}

export interface ReadOptions {
  /** Read `next_observations` (default true; training does not need them). */
  nextObservations?: boolean;
  /** Read `infos/*` (default true; qpos/qvel of a 1M-step file are ~150 MB of float64). */
  infos?: boolean;
}

/** Opens a D4RL HDF5 file and returns its datasets as flat arrays, checking every shape. */
export async function readD4rlFile(path: string, opts: ReadOptions = {}): Promise<D4rlData> {
  if (!existsSync(path)) {
    throw new D4rlFileError(path, null, 'no such file', 'Run `flowformer data download --task d4rl --env <env> --dataset <dataset>` or `flowformer data generate --task d4rl`, or pass --data-root');
  }
  const problem = precheck(path);
  if (problem) throw new D4rlFileError(path, null, problem, REDOWNLOAD);
  const h5 = await loadH5();
  const file = new h5.File(path, 'r');
  // h5wasm does not throw on a failed open: it returns a File whose id is negative
  if ((file as unknown as { file_id: bigint }).file_id < 0n) {
    throw new D4rlFileError(path, null, `could not be opened by HDF5 (${statSync(path).size} bytes); it is probably damaged`, REDOWNLOAD);
  }
  try {
    const keys = new Set(file.keys());
    const get = (name: string): H5Dataset | null => {
      let ent: unknown;
      try {
        ent = file.get(name);
      } catch (e) {
        throw new D4rlFileError(path, name, `cannot be read (${(e as Error).message})`, REDOWNLOAD);
      }
      if (ent === null || ent === undefined) return null;
      if (!(ent instanceof h5.Dataset)) throw new D4rlFileError(path, name, 'is not a dataset (a group or link?)', 'This is not the D4RL layout');
      return ent as unknown as H5Dataset;
    };
    const numeric = (name: string, ds: H5Dataset): ArrayLike<number> => {
      let v: unknown;
      try {
        v = ds.value;
      } catch (e) {
        throw new D4rlFileError(path, name, `its data cannot be read (${(e as Error).message})`, REDOWNLOAD);
      }
      if (v === null || v === undefined) throw new D4rlFileError(path, name, 'its data cannot be read (truncated or corrupt storage)', REDOWNLOAD);
      if (v instanceof BigInt64Array || v instanceof BigUint64Array) return Float64Array.from(v, Number); // int64 (numpy's default int)
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return v as unknown as ArrayLike<number>;
      if (Array.isArray(v) && v.every((x) => typeof x === 'number' || typeof x === 'boolean')) return v.map(Number);
      throw new D4rlFileError(path, name, `has a non-numeric type (${JSON.stringify(ds.dtype)})`, 'D4RL datasets hold floats or bools');
    };
    const required = (name: string): H5Dataset => {
      const ds = keys.has(name) ? get(name) : null;
      if (!ds) throw new D4rlFileError(path, name, 'is missing', `A D4RL file has observations, actions, rewards, terminals (found: ${[...keys].sort().join(', ') || 'nothing'})`);
      return ds;
    };
    const shapeOf = (name: string, ds: H5Dataset): number[] => {
      const s = ds.shape;
      if (!s || s.length === 0) throw new D4rlFileError(path, name, 'is a scalar', 'Expected one row per step');
      return s;
    };

    const obsDs = required('observations');
    const obsShape = shapeOf('observations', obsDs);
    if (obsShape.length !== 2) throw new D4rlFileError(path, 'observations', `has shape [${obsShape}]`, 'Expected [N, obsDim]');
    const [n, obsDim] = obsShape as [number, number];
    const actDs = required('actions');
    const actShape = shapeOf('actions', actDs);
    if (actShape.length !== 2 || actShape[0] !== n) throw new D4rlFileError(path, 'actions', `has shape [${actShape}]`, `Expected [${n}, actDim] (N from observations)`);
    const actDim = actShape[1]!;

    // [N] or [N, 1] (D4RL squeezes the latter)
    const perStep = (name: string, ds: H5Dataset): ArrayLike<number> => {
      const s = shapeOf(name, ds);
      if (!(s[0] === n && (s.length === 1 || (s.length === 2 && s[1] === 1)))) {
        throw new D4rlFileError(path, name, `has shape [${s}]`, `Expected [${n}] or [${n}, 1] (N from observations)`);
      }
      return numeric(name, ds);
    };
    const asFloat = (name: string, ds: H5Dataset, len: number): Float32Array => {
      const v = numeric(name, ds);
      if (v.length !== len) throw new D4rlFileError(path, name, `holds ${v.length} values instead of ${len}`, REDOWNLOAD);
      return v instanceof Float32Array ? v : Float32Array.from(v);
    };
    const asFlags = (name: string, v: ArrayLike<number>): Uint8Array => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = v[i] ? 1 : 0;
      return out;
    };

    const observations = asFloat('observations', obsDs, n * obsDim);
    const actions = asFloat('actions', actDs, n * actDim);
    const rewards = Float32Array.from(perStep('rewards', required('rewards')));
    const terminals = asFlags('terminals', perStep('terminals', required('terminals')));
    const toDs = keys.has('timeouts') ? get('timeouts') : null;
    const timeouts = toDs ? asFlags('timeouts', perStep('timeouts', toDs)) : null;
    let nextObservations: Float32Array | null = null;
    const nextDs = (opts.nextObservations ?? true) && keys.has('next_observations') ? get('next_observations') : null;
    if (nextDs) {
      const s = shapeOf('next_observations', nextDs);
      if (s.length !== 2 || s[0] !== n || s[1] !== obsDim) throw new D4rlFileError(path, 'next_observations', `has shape [${s}]`, `Expected [${n}, ${obsDim}] like observations`);
      nextObservations = asFloat('next_observations', nextDs, n * obsDim);
    }
    const infos: D4rlData['infos'] = {};
    if ((opts.infos ?? true) && keys.has('infos')) {
      const g = file.get('infos');
      if (g instanceof h5.Group) {
        for (const k of g.keys()) {
          const name = `infos/${k}`;
          // infos are optional extras: skip anything that is not a numeric dataset
          if (!(g.get(k) instanceof h5.Dataset)) continue;
          const ds = get(name);
          if (!ds) continue;
          const s = shapeOf(name, ds);
          if (s[0] !== n) throw new D4rlFileError(path, name, `has ${s[0]} rows`, `Expected ${n} rows like observations`);
          const v = numeric(name, ds);
          infos[k] = { shape: s, data: v instanceof Float64Array || v instanceof Float32Array ? v : Float64Array.from(v) };
        }
      }
    }
    return { size: n, obsDim, actDim, observations, actions, rewards, terminals, timeouts, nextObservations, infos };
  } finally {
    file.close();
  }
}

/**
 * Writes a dataset in the D4RL layout (gzip-compressed, chunked like h5py's defaults would be
 * for large arrays). terminals/timeouts are written as uint8: h5wasm cannot create h5py's bool
 * enum type; D4RL's loader and ours both read any integer type as a flag.
 */
export async function writeD4rlFile(path: string, d: D4rlData, attrs: Record<string, string | number> = {}): Promise<void> {
  const h5 = await loadH5();
  const file = new h5.File(path, 'w');
  if ((file as unknown as { file_id: bigint }).file_id < 0n) throw new Error(`${path}: cannot create the HDF5 file (is the folder writable?)`);
  try {
    const n = d.size;
    const put = (g: InstanceType<H5['Group']>, name: string, data: Float32Array | Float64Array | Uint8Array, shape: number[]) => {
      const rows = Math.max(1, Math.min(shape[0]!, Math.floor(262144 / Math.max(1, shape.slice(1).reduce((a, b) => a * b, 1)))));
      g.create_dataset({ name, data, shape, chunks: [rows, ...shape.slice(1)], compression: 'gzip', compression_opts: 4 });
    };
    put(file, 'observations', d.observations, [n, d.obsDim]);
    put(file, 'actions', d.actions, [n, d.actDim]);
    put(file, 'rewards', d.rewards, [n]);
    put(file, 'terminals', d.terminals, [n]);
    if (d.timeouts) put(file, 'timeouts', d.timeouts, [n]);
    if (d.nextObservations) put(file, 'next_observations', d.nextObservations, [n, d.obsDim]);
    const names = Object.keys(d.infos);
    if (names.length > 0) {
      const g = file.create_group('infos');
      for (const k of names) put(g, k, d.infos[k]!.data, d.infos[k]!.shape);
    }
    if (Object.keys(attrs).length > 0) {
      const meta = file.create_group('metadata');
      for (const [k, v] of Object.entries(attrs)) meta.create_attribute(k, v);
    }
  } finally {
    file.close();
  }
}
