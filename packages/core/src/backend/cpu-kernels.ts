/**
 * Fixes for the cpu backend, registered when @flowformer/core is imported.
 *
 * UnsortedSegmentSum (the gradient of gather, so of every embedding): the stock kernel builds
 * one mask per segment, O(numSegments x size(x)), about a minute per step at vocabulary 16k,
 * and fails for multi-dimensional segmentIds. Ours is one pass, O(size(x)).
 *
 * BatchMatMul: tfjs-backend-cpu 4.22 sizes the output batch as max(batchA, batchB) and picks
 * operand batches by `i % batch`. That is only right when one operand's batch shape is the
 * full broadcast batch shape and the other broadcasts along leading dimensions only; for
 * e.g. [2,1,M,K] x [3,K,N] (output batch [2,3]) it silently returns 3 products instead of 6.
 * In those cases we tile both operands to the full batch shape first (cpu Reshape + Tile
 * kernels) and let the stock kernel multiply.
 */
import { tf } from '../tf.ts';

type TensorInfo = tf.TensorInfo;
interface CpuBackendLike {
  disposeIntermediateTensorInfo(t: TensorInfo): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array | Int32Array): TensorInfo;
  data: { get(dataId: object): { values: ArrayLike<number> } };
}

function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as CpuBackendLike;
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = args.attrs as unknown as { numSegments: number };
  const segRank = segmentIds.shape.length;
  if (segmentIds.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`unsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}].`);
  }
  const inner = tf.util.sizeFromShape(x.shape.slice(segRank));
  const xs = backend.data.get(x.dataId).values;
  const ids = backend.data.get(segmentIds.dataId).values;
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue; // TensorFlow drops out-of-range ids
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j]! += xs[src + j]!;
  }
  return backend.makeTensorInfo([numSegments, ...x.shape.slice(segRank)], x.dtype === 'int32' ? 'int32' : 'float32', out);
}

/** True when the stock cpu kernel's `i % batch` indexing is right for these batch shapes. */
export function stockBatchIndexingIsRight(aBatch: number[], bBatch: number[], outBatch: number[]): boolean {
  const pad = (s: number[]) => [...new Array(outBatch.length - s.length).fill(1), ...s];
  const isFull = (s: number[]) => pad(s).every((d, i) => d === outBatch[i]);
  // leading ones, then exactly the trailing dims of the output batch shape
  const isLeadingBroadcast = (s: number[]) => {
    const p = pad(s);
    let i = 0;
    while (i < p.length && p[i] === 1 && outBatch[i] !== 1) i++;
    return p.slice(i).every((d, j) => d === outBatch[i + j]);
  };
  return (isFull(aBatch) && isLeadingBroadcast(bBatch)) || (isFull(bBatch) && isLeadingBroadcast(aBatch));
}

let stockCpuBatchMatMul: tf.KernelConfig | null = null;

function cpuBatchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const stock = stockCpuBatchMatMul!.kernelFunc;
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = tf.backend_util.assertAndGetBroadcastShape(aBatch, bBatch);
  if (stockBatchIndexingIsRight(aBatch, bBatch, outBatch)) return stock(args as never) as TensorInfo;
  const backend = args.backend as CpuBackendLike;
  const reshape = tf.getKernel(tf.Reshape, 'cpu')!.kernelFunc;
  const tile = tf.getKernel(tf.Tile, 'cpu')!.kernelFunc;
  const expand = (x: TensorInfo): TensorInfo => {
    const padded = [...new Array(outBatch.length + 2 - x.shape.length).fill(1), ...x.shape];
    const r = reshape({ inputs: { x }, backend: backend as never, attrs: { shape: padded } }) as TensorInfo;
    const reps = [...outBatch.map((d, i) => (padded[i] === 1 ? d : 1)), 1, 1];
    const t = tile({ inputs: { x: r }, backend: backend as never, attrs: { reps } }) as TensorInfo;
    backend.disposeIntermediateTensorInfo(r);
    return t;
  };
  const a2 = expand(a);
  const b2 = expand(b);
  const out = stock({ inputs: { a: a2, b: b2 }, backend: backend as never, attrs: args.attrs! }) as TensorInfo;
  backend.disposeIntermediateTensorInfo(a2);
  backend.disposeIntermediateTensorInfo(b2);
  return out;
}

let registered = false;

/** Register our cpu kernel fixes (idempotent; runs on import). */
export function registerCpuKernels(): void {
  if (registered) return;
  const stock = tf.getKernel(tf.BatchMatMul, 'cpu');
  if (stock == null) return; // no cpu backend in this build of tfjs
  stockCpuBatchMatMul = { ...stock };
  tf.unregisterKernel(tf.BatchMatMul, 'cpu');
  tf.registerKernel({ ...stock, kernelFunc: cpuBatchMatMul as tf.KernelFunc });
  if (tf.getKernel(tf.UnsortedSegmentSum, 'cpu') != null) tf.unregisterKernel(tf.UnsortedSegmentSum, 'cpu');
  tf.registerKernel({ kernelName: tf.UnsortedSegmentSum, backendName: 'cpu', kernelFunc: unsortedSegmentSum as tf.KernelFunc });
  registered = true;
}

registerCpuKernels();
