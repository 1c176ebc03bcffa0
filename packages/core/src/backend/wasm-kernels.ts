/**
 * Kernels for the `wasm` backend, written in JavaScript over the backend's heap.
 *
 * 1. Kernels training needs that tfjs-backend-wasm 4.22 lacks:
 *      UnsortedSegmentSum                  gradient of gather (every embedding)
 *      Conv2DBackpropFilter                gradient of conv2d w.r.t. its filter
 *      DepthwiseConv2dNativeBackpropFilter gradient of depthwise conv2d (filter)
 *      DepthwiseConv2dNativeBackpropInput  gradient of depthwise conv2d (input)
 *    and one that is wrong:
 *      MaxPoolGrad                         (stock drops gradient with asymmetric 'same' padding)
 *    and one that is slow: Conv2DBackpropInput (a direct loop; ours is an XNNPACK product).
 *    (`test/kernels-wasm.test.ts` checks the gradients of the common ops on wasm, so a
 *    missing or wrong kernel shows up there.)
 * 2. A fast BatchMatMul. The stock kernel only reaches XNNPACK for one unbatched,
 *    untransposed product; every batched or transposed one (so every matmul gradient) runs
 *    a naive loop at ~1-2 GFLOP/s. Ours transposes explicitly (native Transpose) and then
 *    runs each batch element as an unbatched, untransposed native product on views of the
 *    heap buffers (no copies): XNNPACK speed, using its threads.
 *
 * Rules of the heap: inputs are read through `backend.typedArrayFromHeap`; outputs come from
 * `backend.makeOutput`. Any allocation may grow the wasm memory and detach earlier views, so
 * every kernel allocates first and takes its views afterwards.
 *
 * A "view id" is a tensor id registered with the C++ side for a sub-range of an existing
 * buffer; the C++ kernels address tensors by id only. XNNPACK caches its packed weights per
 * id, so each view id is fresh (from the backend's id counter) and disposed right after use.
 */
import { tf } from '../tf.ts';
import { stockBatchIndexingIsRight } from './cpu-kernels.ts';

type TensorInfo = tf.TensorInfo;

interface WasmModuleLike {
  cwrap: (name: string, ret: string | null, args: string[]) => (...a: unknown[]) => unknown;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}
/** The parts of tfjs-backend-wasm's BackendWasm we use (some are private in its .d.ts). */
interface Backend {
  wasm: WasmModuleLike;
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  getMemoryOffset(dataId: object): number;
}

interface Natives {
  batchMatMul: (...a: unknown[]) => unknown;
  transpose: (...a: unknown[]) => unknown;
}
const natives = new WeakMap<object, Natives>();
function nativesOf(backend: Backend): Natives {
  let n = natives.get(backend.wasm);
  if (n == null) {
    const w = backend.wasm;
    n = {
      // (a_id, a_shape, a_rank, b_id, b_shape, b_rank, transpose_a, transpose_b, out_id)
      batchMatMul: w.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']),
      // (x_id, x_shape, x_rank, dtype, out_id, perm, perm_rank)
      transpose: w.cwrap('Transpose', null, ['number', 'array', 'number', 'number', 'number', 'array', 'number']),
    };
    natives.set(backend.wasm, n);
  }
  return n;
}

const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);
const offsetOf = (backend: Backend, t: TensorInfo) => backend.getMemoryOffset(t.dataId);

function viewId(backend: Backend, byteOffset: number, size: number): number {
  const id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, size, byteOffset);
  return id;
}
function releaseId(backend: Backend, id: number): void {
  backend.wasm.tfjs.disposeData(id);
}

/** out[M,N] = a[M,K] b[K,N] through XNNPACK; arguments are byte offsets into the heap. */
function matmul2d(backend: Backend, aOff: number, bOff: number, outOff: number, M: number, K: number, N: number): void {
  const aId = viewId(backend, aOff, M * K);
  const bId = viewId(backend, bOff, K * N);
  const oId = viewId(backend, outOff, M * N);
  nativesOf(backend).batchMatMul(aId, shapeBytes([1, M, K]), 3, bId, shapeBytes([1, K, N]), 3, 0, 0, oId);
  releaseId(backend, aId);
  releaseId(backend, bId);
  releaseId(backend, oId);
}

/** out[b, C, R] = in[b, R, C] (float32), native transpose; byte offsets. */
function transposeLast2(backend: Backend, inOff: number, outOff: number, batch: number, R: number, C: number): void {
  const size = batch * R * C;
  const xId = viewId(backend, inOff, size);
  const oId = viewId(backend, outOff, size);
  if (batch === 1) nativesOf(backend).transpose(xId, shapeBytes([R, C]), 2, 0, oId, shapeBytes([1, 0]), 2);
  else nativesOf(backend).transpose(xId, shapeBytes([batch, R, C]), 3, 0, oId, shapeBytes([0, 2, 1]), 3);
  releaseId(backend, xId);
  releaseId(backend, oId);
}

function f32(backend: Backend, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

// ---------------------------------------------------------------------------------------------
// BatchMatMul
// ---------------------------------------------------------------------------------------------

let stockBatchMatMul: tf.KernelFunc | null = null;
/**
 * Tuning knobs. `tinyProduct`: below this many multiply-adds per batch element the stock loop
 * wins: an XNNPACK call costs ~20-60 us of set-up per batch element (measured, 1 thread:
 * 256 x 64x8x8 stock 2.4 ms vs ours 16.6 ms; 64 x 32x32x32 stock 9.3 ms vs ours 1.3 ms;
 * 512 x 16x16x16 about even). Tests set it to 0 to exercise our path on small shapes.
 */
export const wasmKernelOptions = { tinyProduct: 8192 };

function batchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as Backend;
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    // int32 matmuls are rare (no gradient); the stock kernel reports what it supports.
    return stockBatchMatMul!(args as never) as TensorInfo;
  }
  const ra = a.shape.length;
  const rb = b.shape.length;
  // a as [batchA, M, K], b as [batchB, K, N] after the (explicit) transposes.
  const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const Ka = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const Kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (Ka !== Kb) {
    throw new Error(
      `matMul: inner dimensions differ (${Ka} vs ${Kb}) for shapes [${a.shape}] and [${b.shape}] ` +
        `with transposeA=${transposeA}, transposeB=${transposeB}.`,
    );
  }
  const K = Ka;
  const aBatchShape = a.shape.slice(0, -2);
  const bBatchShape = b.shape.slice(0, -2);
  const outBatchShape = tf.backend_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape);
  const batchA = tf.util.sizeFromShape(aBatchShape);
  const batchB = tf.util.sizeFromShape(bBatchShape);
  const batchOut = tf.util.sizeFromShape(outBatchShape);

  if (batchA === 1 && batchB === 1 && !transposeA && !transposeB && K > 0 && M * N > 0) {
    // The one case the stock kernel sends to XNNPACK itself; it also caches the packed right
    // operand per tensor id, which helps repeated products with the same weights (eval loops).
    return stockBatchMatMul!(args as never) as TensorInfo;
  }
  if (M * K * N < wasmKernelOptions.tinyProduct && stockBatchIndexingIsRight(aBatchShape, bBatchShape, outBatchShape)) {
    // Tiny products (e.g. 8x8x8 per head): creating an XNNPACK operator per batch element
    // (~15 us) costs more than the stock loop. (The stock kernel mis-sizes batches that both
    // broadcast, hence the check.)
    return stockBatchMatMul!(args as never) as TensorInfo;
  }
  const out = backend.makeOutput([...outBatchShape, M, N], 'float32');
  if (batchOut * M * N === 0) return out;
  if (K === 0) {
    f32(backend, out).fill(0);
    return out;
  }

  // Explicit transposes into scratch buffers (allocated before any offset is taken).
  const scratch: number[] = [];
  let aOff: number;
  let bOff: number;
  if (transposeA) {
    const t = backend.wasm._malloc(batchA * M * K * 4) >>> 0;
    scratch.push(t);
    transposeLast2(backend, offsetOf(backend, a), t, batchA, K, M);
    aOff = t;
  } else {
    aOff = offsetOf(backend, a);
  }
  if (transposeB) {
    const t = backend.wasm._malloc(batchB * K * N * 4) >>> 0;
    scratch.push(t);
    transposeLast2(backend, offsetOf(backend, b), t, batchB, N, K);
    bOff = t;
  } else {
    bOff = offsetOf(backend, b);
  }
  const outOff = offsetOf(backend, out);

  if (batchB === 1) {
    // One shared right operand: stack all of a's rows into one [batchA*M, K] product.
    matmul2d(backend, aOff, bOff, outOff, batchA * M, K, N);
  } else {
    const [ia, ib] = broadcastBatchIndices(aBatchShape, bBatchShape, outBatchShape);
    for (let i = 0; i < batchOut; i++) {
      matmul2d(backend, aOff + ia[i]! * M * K * 4, bOff + ib[i]! * K * N * 4, outOff + i * M * N * 4, M, K, N);
    }
  }
  for (const p of scratch) backend.wasm._free(p);
  return out;
}

/** For each flat output batch index, the flat batch index into a and into b (numpy broadcasting). */
function broadcastBatchIndices(aShape: number[], bShape: number[], outShape: number[]): [Int32Array, Int32Array] {
  const r = outShape.length;
  const pad = (s: number[]) => [...new Array(r - s.length).fill(1), ...s];
  const as = pad(aShape);
  const bs = pad(bShape);
  const n = tf.util.sizeFromShape(outShape);
  const ia = new Int32Array(n);
  const ib = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let fa = 0;
    let fb = 0;
    let sa = 1;
    let sb = 1;
    for (let d = r - 1; d >= 0; d--) {
      const c = rem % outShape[d]!;
      rem = Math.floor(rem / outShape[d]!);
      if (as[d] !== 1) fa += c * sa;
      if (bs[d] !== 1) fb += c * sb;
      sa *= as[d]!;
      sb *= bs[d]!;
    }
    ia[i] = fa;
    ib[i] = fb;
  }
  return [ia, ib];
}

// ---------------------------------------------------------------------------------------------
// UnsortedSegmentSum: out[segmentIds[i], ...] += x[i, ...]; O(size(x)), ids outside
// [0, numSegments) are dropped (TensorFlow's semantics). segmentIds' shape is a prefix of x's.
// ---------------------------------------------------------------------------------------------

function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as Backend;
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = args.attrs as unknown as { numSegments: number };
  const segRank = segmentIds.shape.length;
  for (let d = 0; d < segRank; d++) {
    if (segmentIds.shape[d] !== x.shape[d]) {
      throw new Error(
        `unsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}].`,
      );
    }
  }
  if (segmentIds.dtype !== 'int32') {
    throw new Error(`unsortedSegmentSum: segmentIds must be int32, got ${segmentIds.dtype}.`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`unsortedSegmentSum on wasm supports float32 and int32 x, got ${x.dtype}.`);
  }
  const inner = tf.util.sizeFromShape(x.shape.slice(segRank));
  const out = backend.makeOutput([numSegments, ...x.shape.slice(segRank)], x.dtype);
  const o = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  const xs = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = backend.typedArrayFromHeap(segmentIds) as Int32Array;
  o.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j]! += xs[src + j]!;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// conv2d gradients (NHWC) as XNNPACK products over patch matrices. With P = N*oh*ow output
// positions and R = fh*fw*ci patch entries, the patch matrix X[P, R] (im2col) holds
//   X[(n, oy, ox), (fy, fx, ci)] = x[n, oy*sh - top + fy, ox*sw - left + fx, ci]   (0 in the padding)
// and with W[R, co] the filter and dY[P, co] the output gradient:
//   Conv2DBackpropFilter: dW = X^T dY          (im2col, native transpose, one product)
//   Conv2DBackpropInput:  dX = col2im(dY W^T)  (native transpose of W, one product, scatter-add)
// (The stock wasm Conv2DBackpropInput is a direct loop, ~13x slower than the forward conv.)
// ---------------------------------------------------------------------------------------------

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
  dilations?: number | [number, number];
}

function convInfo(kernel: string, xShape: number[], filterShape: number[], attrs: ConvAttrs) {
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm supports dataFormat 'NHWC' only (got '${attrs.dataFormat}'); transpose to NHWC.`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number], attrs.strides, 1,
    attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
}

/** Walk every (output position p, filter tap t) pair whose input pixel is inside the image. */
function forEachTap(
  c: tf.backend_util.Conv2DInfo,
  fn: (p: number, tap: number, xPixel: number) => void,
): void {
  let p = 0;
  for (let n = 0; n < c.batchSize; n++) {
    for (let oy = 0; oy < c.outHeight; oy++) {
      for (let ox = 0; ox < c.outWidth; ox++, p++) {
        for (let fy = 0; fy < c.filterHeight; fy++) {
          const iy = oy * c.strideHeight - c.padInfo.top + fy;
          if (iy < 0 || iy >= c.inHeight) continue;
          for (let fx = 0; fx < c.filterWidth; fx++) {
            const ix = ox * c.strideWidth - c.padInfo.left + fx;
            if (ix < 0 || ix >= c.inWidth) continue;
            fn(p, fy * c.filterWidth + fx, (n * c.inHeight + iy) * c.inWidth + ix);
          }
        }
      }
    }
  }
}

function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as Backend;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs;
  const c = convInfo('Conv2DBackpropFilter', x.shape, attrs.filterShape, attrs);
  const ci = c.inChannels;
  const R = c.filterHeight * c.filterWidth * ci;
  const P = c.batchSize * c.outHeight * c.outWidth;
  const out = backend.makeOutput(attrs.filterShape, 'float32');
  if (R * c.outChannels === 0) return out;
  if (P === 0) {
    f32(backend, out).fill(0);
    return out;
  }
  const cols = backend.wasm._malloc(P * R * 4) >>> 0; // X[P, R]
  const colsT = backend.wasm._malloc(P * R * 4) >>> 0; // X^T[R, P]
  // Views after the allocations (they may have grown the heap).
  const heap = new Float32Array(backend.wasm.HEAPU8.buffer);
  const base = cols >>> 2;
  heap.fill(0, base, base + P * R);
  const xs = f32(backend, x);
  forEachTap(c, (p, tap, pixel) => {
    const dst = base + p * R + tap * ci;
    const src = pixel * ci;
    for (let k = 0; k < ci; k++) heap[dst + k] = xs[src + k]!;
  });
  transposeLast2(backend, cols, colsT, 1, P, R);
  // dy is [n, oh, ow, co] = [P, co] row-major already.
  matmul2d(backend, colsT, offsetOf(backend, dy), offsetOf(backend, out), R, P, c.outChannels);
  backend.wasm._free(cols);
  backend.wasm._free(colsT);
  return out;
}

function conv2DBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as Backend;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
  const c = convInfo('Conv2DBackpropInput', attrs.inputShape, filter.shape, attrs);
  const ci = c.inChannels;
  const co = c.outChannels;
  const R = c.filterHeight * c.filterWidth * ci;
  const P = c.batchSize * c.outHeight * c.outWidth;
  const out = backend.makeOutput(attrs.inputShape, 'float32');
  if (P * R * co === 0) {
    f32(backend, out).fill(0);
    return out;
  }
  const wT = backend.wasm._malloc(R * co * 4) >>> 0; // W^T[co, R]
  const cols = backend.wasm._malloc(P * R * 4) >>> 0; // dY W^T [P, R]
  transposeLast2(backend, offsetOf(backend, filter), wT, 1, R, co);
  matmul2d(backend, offsetOf(backend, dy), wT, cols, P, co, R);
  const heap = new Float32Array(backend.wasm.HEAPU8.buffer);
  const base = cols >>> 2;
  const dx = f32(backend, out);
  dx.fill(0);
  forEachTap(c, (p, tap, pixel) => {
    const src = base + p * R + tap * ci;
    const dst = pixel * ci;
    for (let k = 0; k < ci; k++) dx[dst + k]! += heap[src + k]!;
  });
  backend.wasm._free(wT);
  backend.wasm._free(cols);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Depthwise conv2d gradients (NHWC, channel multiplier m): filter [fh, fw, ci, m],
// y[n, oy, ox, ci*m + q] = sum_{fy, fx} x[n, oy*sh - top + fy*dh, ox*sw - left + fx*dw, ci] w[fy, fx, ci, q]
// ---------------------------------------------------------------------------------------------

function depthwiseInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs) {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number], attrs.strides,
    attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, true, 'channelsLast',
  );
}

function depthwiseBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as Backend;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs;
  const c = depthwiseInfo(x.shape, attrs.filterShape, attrs);
  const m = c.outChannels / c.inChannels;
  const out = backend.makeOutput(attrs.filterShape, 'float32');
  const dw = f32(backend, out);
  const xs = f32(backend, x);
  const dys = f32(backend, dy);
  dw.fill(0);
  for (let fy = 0; fy < c.filterHeight; fy++) {
    for (let fx = 0; fx < c.filterWidth; fx++) {
      for (let n = 0; n < c.batchSize; n++) {
        for (let oy = 0; oy < c.outHeight; oy++) {
          const iy = oy * c.strideHeight - c.padInfo.top + fy * c.dilationHeight;
          if (iy < 0 || iy >= c.inHeight) continue;
          for (let ox = 0; ox < c.outWidth; ox++) {
            const ix = ox * c.strideWidth - c.padInfo.left + fx * c.dilationWidth;
            if (ix < 0 || ix >= c.inWidth) continue;
            const xBase = ((n * c.inHeight + iy) * c.inWidth + ix) * c.inChannels;
            const dyBase = ((n * c.outHeight + oy) * c.outWidth + ox) * c.outChannels;
            const wBase = (fy * c.filterWidth + fx) * c.outChannels;
            for (let k = 0; k < c.outChannels; k++) dw[wBase + k]! += xs[xBase + Math.floor(k / m)]! * dys[dyBase + k]!;
          }
        }
      }
    }
  }
  return out;
}

function depthwiseBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as Backend;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
  const c = depthwiseInfo(attrs.inputShape, filter.shape, attrs);
  const m = c.outChannels / c.inChannels;
  const out = backend.makeOutput(attrs.inputShape, 'float32');
  const dx = f32(backend, out);
  const ws = f32(backend, filter);
  const dys = f32(backend, dy);
  dx.fill(0);
  for (let n = 0; n < c.batchSize; n++) {
    for (let oy = 0; oy < c.outHeight; oy++) {
      for (let ox = 0; ox < c.outWidth; ox++) {
        const dyBase = ((n * c.outHeight + oy) * c.outWidth + ox) * c.outChannels;
        for (let fy = 0; fy < c.filterHeight; fy++) {
          const iy = oy * c.strideHeight - c.padInfo.top + fy * c.dilationHeight;
          if (iy < 0 || iy >= c.inHeight) continue;
          for (let fx = 0; fx < c.filterWidth; fx++) {
            const ix = ox * c.strideWidth - c.padInfo.left + fx * c.dilationWidth;
            if (ix < 0 || ix >= c.inWidth) continue;
            const xBase = ((n * c.inHeight + iy) * c.inWidth + ix) * c.inChannels;
            const wBase = (fy * c.filterWidth + fx) * c.outChannels;
            for (let k = 0; k < c.outChannels; k++) dx[xBase + Math.floor(k / m)]! += ws[wBase + k]! * dys[dyBase + k]!;
          }
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// MaxPoolGrad (NHWC). The stock wasm kernel drops gradient at windows that overlap the padding
// when the 'same' padding is asymmetric (even window, stride 1): a 2x2/1 'same' pool loses
// part of dy. Routes each dy to the first maximum of its window, as the cpu backend does.
// ---------------------------------------------------------------------------------------------

function maxPoolGrad(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as Backend;
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const c = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const out = backend.makeOutput(input.shape, 'float32');
  const dx = f32(backend, out);
  const xs = f32(backend, input);
  const dys = f32(backend, dy);
  dx.fill(0);
  const C = c.inChannels;
  for (let n = 0; n < c.batchSize; n++) {
    for (let oy = 0; oy < c.outHeight; oy++) {
      const y0 = oy * c.strideHeight - c.padInfo.top;
      for (let ox = 0; ox < c.outWidth; ox++) {
        const x0 = ox * c.strideWidth - c.padInfo.left;
        for (let ch = 0; ch < C; ch++) {
          let best = -Infinity;
          let at = -1;
          for (let fy = 0; fy < c.effectiveFilterHeight; fy += c.dilationHeight) {
            const iy = y0 + fy;
            if (iy < 0 || iy >= c.inHeight) continue;
            for (let fx = 0; fx < c.effectiveFilterWidth; fx += c.dilationWidth) {
              const ix = x0 + fx;
              if (ix < 0 || ix >= c.inWidth) continue;
              const i = ((n * c.inHeight + iy) * c.inWidth + ix) * C + ch;
              if (xs[i]! > best) {
                best = xs[i]!;
                at = i;
              }
            }
          }
          if (at >= 0) dx[at]! += dys[((n * c.outHeight + oy) * c.outWidth + ox) * C + ch]!;
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/** The kernels we add or replace for 'wasm'. */
export const WASM_KERNELS: readonly { kernelName: string; kernelFunc: tf.KernelFunc; replaces: boolean }[] = [
  { kernelName: tf.BatchMatMul, kernelFunc: batchMatMul as tf.KernelFunc, replaces: true },
  { kernelName: tf.UnsortedSegmentSum, kernelFunc: unsortedSegmentSum as tf.KernelFunc, replaces: false },
  { kernelName: tf.Conv2DBackpropFilter, kernelFunc: conv2DBackpropFilter as tf.KernelFunc, replaces: false },
  { kernelName: tf.Conv2DBackpropInput, kernelFunc: conv2DBackpropInput as tf.KernelFunc, replaces: true },
  { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, kernelFunc: depthwiseBackpropFilter as tf.KernelFunc, replaces: false },
  { kernelName: tf.DepthwiseConv2dNativeBackpropInput, kernelFunc: depthwiseBackpropInput as tf.KernelFunc, replaces: false },
  { kernelName: tf.MaxPoolGrad, kernelFunc: maxPoolGrad as tf.KernelFunc, replaces: true },
];

let registered = false;
let stockBatchMatMulConfig: tf.KernelConfig | null = null;

/**
 * Register our wasm kernels (idempotent). Importing '@tensorflow/tfjs-backend-wasm' first
 * matters: it registers the stock kernels, which we then replace (BatchMatMul) or complete.
 */
export function registerWasmKernels(): void {
  if (registered) return;
  if (stockBatchMatMulConfig == null) {
    const stock = tf.getKernel(tf.BatchMatMul, 'wasm');
    if (stock == null) {
      throw new Error('registerWasmKernels: the stock wasm kernels are not registered; import @tensorflow/tfjs-backend-wasm first.');
    }
    stockBatchMatMulConfig = { ...stock };
    stockBatchMatMul = stock.kernelFunc;
  }
  for (const k of WASM_KERNELS) {
    if (tf.getKernel(k.kernelName, 'wasm') != null) tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({
      kernelName: k.kernelName,
      backendName: 'wasm',
      kernelFunc: k.kernelFunc,
      // The stock BatchMatMul's setup binds its native function, which our int32 fallback
      // uses; ours binds lazily.
      setupFunc: k.kernelName === tf.BatchMatMul ? stockBatchMatMulConfig.setupFunc : undefined,
    });
  }
  registered = true;
}

/** Put the stock BatchMatMul back (to compare speeds); registerWasmKernels() re-installs ours. */
export function useStockBatchMatMul(): void {
  if (!registered || stockBatchMatMulConfig == null) return;
  tf.unregisterKernel(tf.BatchMatMul, 'wasm');
  tf.registerKernel(stockBatchMatMulConfig);
  registered = false;
}
