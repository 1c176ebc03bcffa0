/**
 * Fused kernels of the tensorflow backend, compiled by XLA.
 *
 * libtensorflow runs tfjs's ops one kernel at a time, each a pass over memory; a chain of
 * elementwise ops (the feed-forward block's bias, exact GELU and dropout: nine passes forward,
 * ten backward) costs as many passes. `packages/core/xla-kernels/` is a SavedModel whose
 * signatures are such chains written once in TensorFlow with `jit_compile=True`
 * (scripts/build-xla-kernels.py); XLA makes each one loop. tfjs-node runs a signature through
 * its session path, which passes our tensors' buffers in and the results out without copying.
 *
 * Loaded when the CPU tensorflow backend starts. Where it cannot be (another
 * libtensorflow than the one the SavedModel was written with, a build without XLA, or
 * FLOWFORMER_XLA=0), `xlaKernel` returns null and the callers use the unfused ops: the same
 * numbers to float32 rounding. A kernel that fails when first run turns them off the same way,
 * with the reason in `xlaKernelsStatus()`. Not used with tensorflow-gpu: its tensors would
 * be copied to the host and back.
 */
import { fileURLToPath } from 'node:url';
import { tf } from '../tf.ts';

/**
 * The signatures and their outputs, as scripts/build-xla-kernels.py writes them. Each is also
 * a tfjs kernel of the tensorflow backend named `Xla_<signature>`, so that the engine tracks
 * its outputs' memory and `tf.profile` (and `bench step --profile`) counts and times it.
 */
const SIGNATURES = {
  bias_gelu_dropout: ['y'],
  bias_gelu_dropout_grad: ['dh', 'dbias'],
  dropout: ['y'],
  layer_norm: ['y', 'rstd'],
  layer_norm_grad: ['dx', 'dweight', 'dbias'],
  sigmoid_grad: ['dx'],
  flow_feature_grad: ['dx'],
} as const;
export type XlaKernelName = keyof typeof SIGNATURES;
export const XLA_KERNELS = Object.keys(SIGNATURES) as XlaKernelName[];

/** A loaded signature: named inputs to named outputs (tensors the caller owns). */
export type XlaKernel = (inputs: Record<string, tf.Tensor>) => Record<string, tf.Tensor>;

interface SavedModelLike {
  predict(inputs: Record<string, tf.Tensor>): unknown;
  dispose(): void;
}
type LoadSavedModel = (dir: string, tags: string[], signature: string) => Promise<SavedModelLike>;

export interface XlaKernelsStatus {
  on: boolean;
  /** What is loaded, or why nothing is. */
  detail: string;
}

let kernels: Map<XlaKernelName, XlaKernel> | null = null;
let status: XlaKernelsStatus = { on: false, detail: 'not loaded (only the CPU tensorflow backend loads them)' };
let models: SavedModelLike[] = [];
let registered: string[] = [];

/** Where the SavedModel is: packages/core/xla-kernels (two levels above src/backend and dist/backend). */
export function xlaKernelsDir(): string {
  return fileURLToPath(new URL('../../xla-kernels', import.meta.url));
}

/**
 * Load every signature with tfjs-node's `loadSavedModel` (the backend passes it in). Never
 * throws: on failure the kernels stay off and `xlaKernelsStatus()` says why.
 */
export async function loadXlaKernels(loadSavedModel: LoadSavedModel): Promise<XlaKernelsStatus> {
  unloadXlaKernels('reloading');
  if (process.env.FLOWFORMER_XLA === '0') {
    status = { on: false, detail: 'off: FLOWFORMER_XLA=0' };
    return status;
  }
  const dir = xlaKernelsDir();
  const loaded = new Map<XlaKernelName, XlaKernel>();
  try {
    for (const name of XLA_KERNELS) {
      const model = await loadSavedModel(dir, ['serve'], name);
      models.push(model);
      const outputs = SIGNATURES[name];
      const kernelName = `Xla_${name}`;
      // The engine takes the session's output tensors as they are (they are already tracked).
      tf.registerKernel({
        kernelName,
        backendName: 'tensorflow',
        kernelFunc: ({ inputs }) => {
          const out = model.predict(inputs as Record<string, tf.Tensor>) as Record<string, tf.Tensor>;
          return outputs.map((o) => out[o]!);
        },
      });
      registered.push(kernelName);
      loaded.set(name, (inputs) => {
        const out = tf.engine().runKernel(kernelName, inputs, {}) as tf.Tensor | tf.Tensor[];
        const list = Array.isArray(out) ? out : [out];
        return Object.fromEntries(outputs.map((o, i) => [o, list[i]!]));
      });
    }
  } catch (e) {
    unloadXlaKernels(`off: ${dir} did not load (${(e as Error).message.split('\n')[0]})`);
    return status;
  }
  kernels = loaded;
  status = { on: true, detail: `on: ${XLA_KERNELS.join(', ')} (FLOWFORMER_XLA=0 turns them off)` };
  return status;
}

/** The kernel, or null when the fused kernels are off (then compute with the unfused ops). */
export function xlaKernel(name: XlaKernelName): XlaKernel | null {
  // tf.setBackend can switch away without initBackend: the kernels take tensorflow's tensors only.
  return kernels && tf.getBackend() === 'tensorflow' ? (kernels.get(name) ?? null) : null;
}

/**
 * `fused()`, which runs XLA kernels; if it throws (this libtensorflow cannot compile or run
 * them), turns the kernels off for good and returns `unfused()` instead.
 */
export function fusedOr<T>(fused: () => T, unfused: () => T): T {
  try {
    return fused();
  } catch (e) {
    disableXlaKernels(`a kernel failed when run (${(e as Error).message.split('\n')[0]})`);
    return unfused();
  }
}

/** Turn the kernels off for the rest of the process (e.g. one failed when first run), with the reason. */
export function disableXlaKernels(reason: string): void {
  unloadXlaKernels(`off: ${reason}`);
  process.emitWarning(`flowformer: fused XLA kernels turned off, computing with the unfused ops: ${reason}`);
}

/** `fn()` with the kernels off (as if FLOWFORMER_XLA=0), then on again: for comparing the two paths. */
export function withoutXlaKernels<T>(fn: () => T): T {
  const saved = kernels;
  kernels = null;
  try {
    return fn();
  } finally {
    kernels = saved;
  }
}

export function xlaKernelsStatus(): XlaKernelsStatus {
  return status;
}

/** Release the sessions (switching away from tensorflow, or before a reload). */
export function unloadXlaKernels(detail = 'off: the backend is not tensorflow'): void {
  for (const k of registered) tf.unregisterKernel(k, 'tensorflow');
  for (const m of models) m.dispose();
  registered = [];
  models = [];
  kernels = null;
  status = { on: false, detail };
}
