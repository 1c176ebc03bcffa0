/**
 * The DeiT/timm training augmentations as pure functions on 8-bit RGB images in memory, each
 * drawing its randomness from the run's seeded `Rng` (so a resumed run sees the same crops):
 *
 *   RandomResizedCrop (torchvision's sampling of the box, then PIL's bicubic crop and resize,
 *   `cropResizeBicubic`), RandAugment 'rand-m9-mstd0.5-inc1' (timm's increasing-severity op
 *   set, 2 ops per image, each applied with probability 0.5), ColorJitter, normalisation with
 *   the ImageNet mean/std, and batch-level Mixup/CutMix with label smoothing (timm's `Mixup`).
 *
 * The pixel operations follow PIL's definitions (ImageOps, ImageEnhance, Image.transform),
 * which is what timm calls; geometric ops sample bilinearly and fill with timm's
 * `img_mean` (124, 116, 104).
 */
import type { Rng } from '@flowformer/core';

/** An 8-bit RGB image, rows top to bottom, pixels interleaved `[H, W, 3]`. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
/** timm's RandAugment fill colour: round(255 * IMAGENET_DEFAULT_MEAN). */
const FILL = [124, 116, 104] as const;

// ----------------------------------------------------------------------------- pixel buffers

// Pixel buffers handed back by the pipeline (`releaseImage`) for the next image of this thread.
// A training view at 224 px goes through several images of 150 KB (crop, RandAugment's ops, ...);
// allocated afresh each time, the memory they add outside V8's heap made it mark the heap again
// and again: a fifth of a core per worker thread, and a third of the images per second. Only
// buffers allocated here come back, each at most once; the list stays short.
const free: ArrayBuffer[] = [];
const ours = new WeakSet<ArrayBuffer>();
const MAX_FREE = 8;

/** `n` zeroed bytes: a released buffer that holds them (the smallest such), else a new one. */
function takeBytes(n: number): Uint8ClampedArray {
  let best = -1;
  for (let i = 0; i < free.length; i++) if (free[i]!.byteLength >= n && (best < 0 || free[i]!.byteLength < free[best]!.byteLength)) best = i;
  if (best < 0) {
    const buf = new ArrayBuffer(n);
    ours.add(buf);
    return new Uint8ClampedArray(buf);
  }
  const buf = free[best]!;
  free[best] = free[free.length - 1]!;
  free.pop();
  return new Uint8ClampedArray(buf, 0, n).fill(0);
}

/** Gives `bytes` back for a later image; the caller no longer uses them (nor any view of them). */
function releaseBytes(bytes: Uint8ClampedArray): void {
  const buf = bytes.buffer as ArrayBuffer;
  if (!ours.has(buf) || free.includes(buf) || free.length >= MAX_FREE) return;
  free.push(buf);
}

/** A zeroed `width` x `height` RGB image. */
export const newImage = (width: number, height: number): RgbImage => ({ width, height, data: takeBytes(width * height * 3) });
const copyImage = (im: RgbImage): RgbImage => {
  const out = newImage(im.width, im.height);
  out.data.set(im.data);
  return out;
};
/**
 * Says that `im` is no longer needed: its pixels may become those of a later image of this
 * thread. The pipeline calls it on each intermediate image once the next one is made.
 */
export const releaseImage = (im: RgbImage): void => releaseBytes(im.data);

// ----------------------------------------------------------------------------- crops

export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * torchvision `RandomResizedCrop.get_params`: up to 10 tries of an area fraction in `scale`
 * and a log-uniform aspect ratio in `ratio`; if none fits, the largest centred crop whose
 * ratio is clamped to `ratio`.
 */
export function randomResizedCropBox(width: number, height: number, rng: Rng, scale: [number, number] = [0.08, 1], ratio: [number, number] = [3 / 4, 4 / 3]): CropBox {
  const area = width * height;
  const logR = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logR[0]!, logR[1]!));
    const w = Math.round(Math.sqrt(targetArea * aspect));
    const h = Math.round(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.int(height - h + 1), left: rng.int(width - w + 1), width: w, height: h };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), width: w, height: h };
}

/** torchvision `Resize(int)`: the shorter side becomes `size`, the longer `int(size * long / short)`. */
export function resizeShorter(width: number, height: number, size: number): { width: number; height: number } {
  return width <= height ? { width: size, height: Math.floor((size * height) / width) } : { width: Math.floor((size * width) / height), height: size };
}

/** torchvision `CenterCrop`: offsets round((H - h) / 2), round((W - w) / 2). */
export function centerCropBox(width: number, height: number, size: number): CropBox {
  return { top: Math.round((height - size) / 2), left: Math.round((width - size) / 2), width: size, height: size };
}

// ----------------------------------------------------------------------------- resampling

/** PIL's bicubic kernel (a = -0.5, support 2). */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** PIL's fixed-point precision of 8-bit resampling (Resample.c: 32 - 8 - 2 bits). */
const PRECISION_BITS = 22;

/**
 * PIL `precompute_coeffs` + `normalize_coeffs_8bpc` for `inSize` source pixels to `outSize`:
 * per output pixel the first source pixel, the tap count, and `ksize` integer weights.
 */
function resampleCoeffs(inSize: number, outSize: number): { ksize: number; bounds: Int32Array; k: Int32Array } {
  const scale = inSize / outSize;
  const filterscale = Math.max(1, scale);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = bicubic((x + xmin - center + 0.5) * ss);
      ww += w[x]!;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x]! / ww : w[x]!;
      k[xx * ksize + x] = Math.trunc(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  return { ksize, bounds, k };
}

/** PIL's `clip8`: the fixed-point sum to 0..255. */
const clip8 = (v: number) => {
  const x = v >> PRECISION_BITS;
  return x < 0 ? 0 : x > 255 ? 255 : x;
};

/**
 * `im.crop(box).resize((outW, outH), Image.BICUBIC)` (then mirrored left-right if `flip`) exactly as PIL computes it for 8-bit RGB
 * (Resample.c: separable convolution, the kernel widened by the scale when shrinking, 22-bit
 * fixed-point weights, a horizontal pass to 8 bits then a vertical one): what torchvision's
 * `RandomResizedCrop(..., BICUBIC)` and timm's training crop do to PIL images.
 */
export function cropResizeBicubic(im: RgbImage, box: CropBox, outW: number, outH: number, flip = false): RgbImage {
  const { left, top, width: w, height: h } = box;
  if (left < 0 || top < 0 || w < 1 || h < 1 || left + w > im.width || top + h > im.height) {
    throw new Error(`crop box ${JSON.stringify(box)} is outside the ${im.width}x${im.height} image`);
  }
  const W = im.width;
  const src = im.data;
  const needH = outW !== w;
  const needV = outH !== h;
  const vert = needV ? resampleCoeffs(h, outH) : null;
  // Source rows the vertical pass reads (all of them without one).
  const y0 = vert ? vert.bounds[0]! : 0;
  const y1 = vert ? vert.bounds[2 * outH - 2]! + vert.bounds[2 * outH - 1]! : h;
  // Horizontal pass (or the plain crop) of rows y0..y1 of the box: [y1 - y0, outW, 3].
  const mid = takeBytes((y1 - y0) * outW * 3);
  if (needH) {
    const { ksize, bounds, k } = resampleCoeffs(w, outW);
    const half = 1 << (PRECISION_BITS - 1);
    for (let y = y0; y < y1; y++) {
      const row = ((top + y) * W + left) * 3;
      const o = (y - y0) * outW * 3;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[2 * xx]!;
        const n = bounds[2 * xx + 1]!;
        const kk = xx * ksize;
        let s0 = half;
        let s1 = half;
        let s2 = half;
        for (let x = 0; x < n; x++) {
          const p = row + (xmin + x) * 3;
          const c = k[kk + x]!;
          s0 += Math.imul(src[p]!, c);
          s1 += Math.imul(src[p + 1]!, c);
          s2 += Math.imul(src[p + 2]!, c);
        }
        mid[o + 3 * xx] = clip8(s0);
        mid[o + 3 * xx + 1] = clip8(s1);
        mid[o + 3 * xx + 2] = clip8(s2);
      }
    }
  } else {
    for (let y = y0; y < y1; y++) mid.set(src.subarray(((top + y) * W + left) * 3, ((top + y) * W + left + w) * 3), (y - y0) * outW * 3);
  }
  // The vertical pass treats every column alike, so mirroring its input rows (y1 - y0 of them,
  // few when up-sampling) gives the bytes of mirroring its output.
  if (flip) mirrorRows(mid, outW, y1 - y0);
  if (!vert) return { width: outW, height: outH, data: mid };
  // Vertical pass: [outH, outW, 3].
  const out = newImage(outW, outH);
  const dst = out.data;
  const { ksize, bounds, k } = vert;
  const rowLen = outW * 3;
  const half = 1 << (PRECISION_BITS - 1);
  // Row by row over the taps' source rows, read in sequence. PIL sums in int32; these sums of
  // integers are exact in doubles and stay below 2^31, so the bytes are PIL's.
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[2 * yy]! - y0;
    const n = bounds[2 * yy + 1]!;
    const kk = yy * ksize;
    const o = yy * rowLen;
    if (n === 4) {
      // Up-sampling: four taps everywhere but near the edges.
      const [c0, c1, c2, c3] = [k[kk]!, k[kk + 1]!, k[kk + 2]!, k[kk + 3]!];
      const r0 = ymin * rowLen;
      const r1 = r0 + rowLen;
      const r2 = r1 + rowLen;
      const r3 = r2 + rowLen;
      // Products by Math.imul: each is below 2^31 in magnitude, so exact, and cheaper than a
      // double product; the sum is the same exact integer as before.
      for (let i = 0; i < rowLen; i++) {
        dst[o + i] = (half + Math.imul(mid[r0 + i]!, c0) + Math.imul(mid[r1 + i]!, c1) + Math.imul(mid[r2 + i]!, c2) + Math.imul(mid[r3 + i]!, c3)) >> PRECISION_BITS; // the clamped store is clip8
      }
      continue;
    }
    for (let i = 0; i < rowLen; i++) {
      let s = half;
      for (let y = 0; y < n; y++) s += Math.imul(mid[(ymin + y) * rowLen + i]!, k[kk + y]!);
      dst[o + i] = clip8(s);
    }
  }
  releaseBytes(mid);
  return out;
}

// ----------------------------------------------------------------------------- flips, jitter

/** Mirrors each of the `rows` rows of `W` RGB pixels of `d` left-right, in place. */
function mirrorRows(d: Uint8ClampedArray, W: number, rows: number): void {
  for (let y = 0; y < rows; y++) {
    let a = y * W * 3;
    let b = a + (W - 1) * 3;
    for (; a < b; a += 3, b -= 3) {
      const r = d[a]!;
      const g = d[a + 1]!;
      const bl = d[a + 2]!;
      d[a] = d[b]!;
      d[a + 1] = d[b + 1]!;
      d[a + 2] = d[b + 2]!;
      d[b] = r;
      d[b + 1] = g;
      d[b + 2] = bl;
    }
  }
}

/** Mirror left-right (torchvision `RandomHorizontalFlip` once the coin says so). */
export function hflip(im: RgbImage): RgbImage {
  const out = copyImage(im);
  mirrorRows(out.data, im.width, im.height);
  return out;
}

/** PIL's 'L' conversion: (299 R + 587 G + 114 B) / 1000, rounded to an integer. */
function grayOf(im: RgbImage): Float32Array {
  const n = im.width * im.height;
  const g = new Float32Array(n);
  const d = im.data;
  // round(x / 1000) of a whole x >= 0 is floor((x + 500) / 1000): no x / 1000 falls within a
  // double's rounding of a half other than the exact ones, which Math.round rounds up as this does.
  for (let i = 0; i < n; i++) g[i] = ((d[3 * i]! * 299 + d[3 * i + 1]! * 587 + d[3 * i + 2]! * 114 + 500) / 1000) | 0;
  return g;
}

/** PIL `Image.blend(degenerate, im, factor)`: degenerate + factor * (im - degenerate), clipped to [0, 255]. */
function blend(im: RgbImage, degenerate: number | Float32Array | Uint8ClampedArray, factor: number, perPixel = false): RgbImage {
  const out = newImage(im.width, im.height);
  const src = im.data;
  const dst = out.data;
  const n = src.length;
  if (typeof degenerate === 'number') {
    // One output per input value: a table of the 256 (the same doubles, rounded and clipped by
    // the Uint8ClampedArray store), then a lookup per byte.
    const lut = new Uint8ClampedArray(256);
    for (let v = 0; v < 256; v++) lut[v] = degenerate + factor * (v - degenerate);
    for (let i = 0; i < n; i++) dst[i] = lut[src[i]!]!;
  } else if (perPixel) {
    // one degenerate value per pixel (grey image), shared by its three channels
    for (let i = 0, j = 0; i < n; i += 3, j++) {
      const d = degenerate[j]!;
      dst[i] = d + factor * (src[i]! - d);
      dst[i + 1] = d + factor * (src[i + 1]! - d);
      dst[i + 2] = d + factor * (src[i + 2]! - d);
    }
  } else {
    for (let i = 0; i < n; i++) dst[i] = degenerate[i]! + factor * (src[i]! - degenerate[i]!);
  }
  return out;
}

/** ImageEnhance.Brightness: blend with black. */
export const adjustBrightness = (im: RgbImage, f: number) => blend(im, 0, f);
/** ImageEnhance.Color (saturation): blend with the grey image. */
export function adjustSaturation(im: RgbImage, f: number): RgbImage {
  const g = grayOf(im);
  return blend(im, g, f, true);
}
/** ImageEnhance.Contrast: blend with the (rounded) mean grey level. */
export function adjustContrast(im: RgbImage, f: number): RgbImage {
  const g = grayOf(im);
  let s = 0;
  for (const v of g) s += v;
  const mean = Math.floor(s / g.length + 0.5);
  return blend(im, mean, f);
}
/** ImageEnhance.Sharpness: blend with PIL's SMOOTH filter (3x3, centre 5, others 1, / 13); border pixels stay. */
export function adjustSharpness(im: RgbImage, f: number): RgbImage {
  const { width: W, height: H } = im;
  // Border pixels: smoothing keeps them, and blending a value with itself gives it back.
  const out = copyImage(im);
  const d = im.data;
  const dst = out.data;
  const row = W * 3;
  for (let y = 1; y < H - 1; y++) {
    // Every channel of pixels 1..W-2 of row y: 5 x centre + its 8 neighbours (integers: any
    // order), rounded as the smoothed image's byte store rounds s / 13 (never a tie: 13 is odd),
    // then blended with the pixel in the same doubles as \`blend\`.
    for (let i = y * row + 3; i < (y + 1) * row - 3; i++) {
      const s = 5 * d[i]! + d[i - row - 3]! + d[i - row]! + d[i - row + 3]! + d[i - 3]! + d[i + 3]! + d[i + row - 3]! + d[i + row]! + d[i + row + 3]!;
      const g = ((2 * s + 13) / 26) | 0;
      dst[i] = g + f * (d[i]! - g);
    }
  }
  return out;
}

/**
 * torchvision `ColorJitter(b, c, s)` as timm builds it for `--color-jitter 0.4` (b = c = s = 0.4,
 * no hue): factors uniform in [1 - v, 1 + v], the three adjustments in a random order.
 */
export function colorJitter(im: RgbImage, strength: number, rng: Rng): RgbImage {
  if (strength <= 0) return im;
  const ops = [adjustBrightness, adjustContrast, adjustSaturation];
  const factors = ops.map(() => rng.uniform(Math.max(0, 1 - strength), 1 + strength));
  const order = [0, 1, 2];
  rng.shuffle(order);
  let out = im;
  for (const k of order) {
    const next = ops[k]!(out, factors[k]!);
    if (next !== out && out !== im) releaseImage(out); // an image of ours, not the caller's
    out = next;
  }
  return out;
}

// ----------------------------------------------------------------------------- RandAugment

/** `out(x, y) = in(a x + b y + c, d x + e y + f)` (PIL's affine `data`), bilinear, filled with FILL outside. */
function affine(im: RgbImage, [a, b, c, d, e, f]: number[]): RgbImage {
  const { width: W, height: H } = im;
  const src = im.data;
  const out = newImage(W, H);
  const dst = out.data;
  for (let y = 0; y < H; y++) {
    // The row's terms, the same doubles as computed in place.
    const by = b! * (y + 0.5);
    const ey = e! * (y + 0.5);
    for (let x = 0; x < W; x++) {
      // PIL samples at pixel centres.
      const sx = a! * (x + 0.5) + by + c! - 0.5;
      const sy = d! * (x + 0.5) + ey + f! - 0.5;
      const o = (y * W + x) * 3;
      if (sx < -0.5 || sy < -0.5 || sx > W - 0.5 || sy > H - 0.5) {
        dst[o] = FILL[0];
        dst[o + 1] = FILL[1];
        dst[o + 2] = FILL[2];
        continue;
      }
      // floor of a positive coordinate is its truncation; the clamps as comparisons (the same values).
      const x0 = sx <= 0 ? 0 : sx >= W - 1 ? W - 1 : sx | 0;
      const y0 = sy <= 0 ? 0 : sy >= H - 1 ? H - 1 : sy | 0;
      const x1 = x0 + 1 < W ? x0 + 1 : W - 1;
      const y1 = y0 + 1 < H ? y0 + 1 : H - 1;
      const rx = sx - x0;
      const ry = sy - y0;
      const fx = rx < 0 ? 0 : rx > 1 ? 1 : rx;
      const fy = ry < 0 ? 0 : ry > 1 ? 1 : ry;
      const w00 = (1 - fy) * (1 - fx);
      const w01 = (1 - fy) * fx;
      const w10 = fy * (1 - fx);
      const w11 = fy * fx;
      const p00 = (y0 * W + x0) * 3;
      const p01 = (y0 * W + x1) * 3;
      const p10 = (y1 * W + x0) * 3;
      const p11 = (y1 * W + x1) * 3;
      dst[o] = w00 * src[p00]! + w01 * src[p01]! + w10 * src[p10]! + w11 * src[p11]!;
      dst[o + 1] = w00 * src[p00 + 1]! + w01 * src[p01 + 1]! + w10 * src[p10 + 1]! + w11 * src[p11 + 1]!;
      dst[o + 2] = w00 * src[p00 + 2]! + w01 * src[p01 + 2]! + w10 * src[p10 + 2]! + w11 * src[p11 + 2]!;
    }
  }
  return out;
}

/** PIL `rotate(deg)` about the centre, counter-clockwise for positive degrees, same canvas. */
export function rotate(im: RgbImage, degrees: number): RgbImage {
  const t = (-degrees * Math.PI) / 180;
  const cx = im.width / 2;
  const cy = im.height / 2;
  const [a, b, d, e] = [Math.cos(t), Math.sin(t), -Math.sin(t), Math.cos(t)];
  // Inverse map about the centre: source = R (p - c) + c.
  return affine(im, [a, b, cx - a * cx - b * cy, d, e, cy - d * cx - e * cy]);
}
export const shearX = (im: RgbImage, f: number) => affine(im, [1, f, 0, 0, 1, 0]);
export const shearY = (im: RgbImage, f: number) => affine(im, [1, 0, 0, f, 1, 0]);
export const translateX = (im: RgbImage, px: number) => affine(im, [1, 0, px, 0, 1, 0]);
export const translateY = (im: RgbImage, px: number) => affine(im, [1, 0, 0, 0, 1, px]);

function perChannelLut(im: RgbImage, lut: (c: number) => Uint8ClampedArray): RgbImage {
  const out = newImage(im.width, im.height);
  const [l0, l1, l2] = [lut(0), lut(1), lut(2)];
  const src = im.data;
  const dst = out.data;
  for (let i = 0; i < src.length; i += 3) {
    dst[i] = l0[src[i]!]!;
    dst[i + 1] = l1[src[i + 1]!]!;
    dst[i + 2] = l2[src[i + 2]!]!;
  }
  return out;
}
function histogram(im: RgbImage, c: number): Int32Array {
  const h = new Int32Array(256);
  for (let i = c; i < im.data.length; i += 3) h[im.data[i]!]!++;
  return h;
}

/** ImageOps.autocontrast (cutoff 0): each channel's [min, max] stretched to [0, 255]. */
export function autoContrast(im: RgbImage): RgbImage {
  return perChannelLut(im, (c) => {
    const h = histogram(im, c);
    let lo = 0;
    while (lo < 255 && h[lo] === 0) lo++;
    let hi = 255;
    while (hi > 0 && h[hi] === 0) hi--;
    const lut = new Uint8ClampedArray(256);
    for (let v = 0; v < 256; v++) lut[v] = hi <= lo ? v : ((v - lo) * 255) / (hi - lo);
    return lut;
  });
}
/** ImageOps.equalize: PIL's per-channel histogram equalisation. */
export function equalize(im: RgbImage): RgbImage {
  return perChannelLut(im, (c) => {
    const h = histogram(im, c);
    const nz = [...h].filter((x) => x > 0);
    const lut = new Uint8ClampedArray(256);
    const step = nz.length <= 1 ? 0 : Math.floor((nz.reduce((a, b) => a + b, 0) - nz[nz.length - 1]!) / 255);
    if (step === 0) {
      for (let v = 0; v < 256; v++) lut[v] = v;
      return lut;
    }
    let n = Math.floor(step / 2);
    for (let v = 0; v < 256; v++) {
      lut[v] = Math.floor(n / step);
      n += h[v]!;
    }
    return lut;
  });
}
export const invert = (im: RgbImage) => perChannelLut(im, () => Uint8ClampedArray.from({ length: 256 }, (_, v) => 255 - v));
export const posterize = (im: RgbImage, bits: number) =>
  bits >= 8 ? im : perChannelLut(im, () => Uint8ClampedArray.from({ length: 256 }, (_, v) => v & ~((1 << (8 - bits)) - 1)));
export const solarize = (im: RgbImage, thresh: number) => perChannelLut(im, () => Uint8ClampedArray.from({ length: 256 }, (_, v) => (v >= thresh ? 255 - v : v)));
export const solarizeAdd = (im: RgbImage, add: number, thresh = 128) =>
  perChannelLut(im, () => Uint8ClampedArray.from({ length: 256 }, (_, v) => (v < thresh ? Math.min(255, v + add) : v)));

/** One RandAugment op: name, and how it maps a magnitude in [0, 10] (and a random sign) to an image. */
interface RandOp {
  name: string;
  apply(im: RgbImage, m: number, rng: Rng): RgbImage;
}
const M = 10; // timm's _LEVEL_DENOM
const signed = (v: number, rng: Rng) => (rng.next() < 0.5 ? -v : v);
const enhance = (f: (im: RgbImage, x: number) => RgbImage) => (im: RgbImage, m: number, rng: Rng) => f(im, 1 + signed((m / M) * 0.9, rng));

/** timm's `_RAND_INCREASING_TRANSFORMS` (the 'inc1' set), in timm's order, with timm's level mappings. */
export const RAND_INCREASING_OPS: RandOp[] = [
  { name: 'AutoContrast', apply: (im) => autoContrast(im) },
  { name: 'Equalize', apply: (im) => equalize(im) },
  { name: 'Invert', apply: (im) => invert(im) },
  { name: 'Rotate', apply: (im, m, rng) => rotate(im, signed((m / M) * 30, rng)) },
  { name: 'PosterizeIncreasing', apply: (im, m) => posterize(im, 4 - Math.trunc((m / M) * 4)) },
  { name: 'SolarizeIncreasing', apply: (im, m) => solarize(im, 256 - Math.trunc((m / M) * 256)) },
  { name: 'SolarizeAdd', apply: (im, m) => solarizeAdd(im, Math.trunc((m / M) * 110)) },
  { name: 'ColorIncreasing', apply: enhance(adjustSaturation) },
  { name: 'ContrastIncreasing', apply: enhance(adjustContrast) },
  { name: 'BrightnessIncreasing', apply: enhance(adjustBrightness) },
  { name: 'SharpnessIncreasing', apply: enhance(adjustSharpness) },
  { name: 'ShearX', apply: (im, m, rng) => shearX(im, signed((m / M) * 0.3, rng)) },
  { name: 'ShearY', apply: (im, m, rng) => shearY(im, signed((m / M) * 0.3, rng)) },
  { name: 'TranslateXRel', apply: (im, m, rng) => translateX(im, signed((m / M) * 0.45, rng) * im.width) },
  { name: 'TranslateYRel', apply: (im, m, rng) => translateY(im, signed((m / M) * 0.45, rng) * im.height) },
];

export interface RandAugmentArgs {
  /** Ops per image (timm 'n', default 2). */
  numOps: number;
  /** Mean magnitude in [0, 10] (timm 'm', DeiT 9). */
  magnitude: number;
  /** Std of the per-op magnitude noise (timm 'mstd', DeiT 0.5). */
  magnitudeStd: number;
  /** Probability each chosen op is applied (timm's default 0.5). */
  prob: number;
}
export const DEIT_RANDAUGMENT: RandAugmentArgs = { numOps: 2, magnitude: 9, magnitudeStd: 0.5, prob: 0.5 };

/** timm `RandAugment` with `rand-m9-mstd0.5-inc1`: `numOps` ops drawn with replacement, each applied with `prob`. */
export function randAugment(im: RgbImage, rng: Rng, args: RandAugmentArgs = DEIT_RANDAUGMENT, applied?: string[]): RgbImage {
  let out = im;
  for (let k = 0; k < args.numOps; k++) {
    const op = RAND_INCREASING_OPS[rng.int(RAND_INCREASING_OPS.length)]!;
    if (rng.next() >= args.prob) continue;
    let m = args.magnitude;
    if (args.magnitudeStd > 0) m = rng.normal(m, args.magnitudeStd);
    m = Math.max(0, Math.min(M, m));
    const next = op.apply(out, m, rng);
    if (next !== out && out !== im) releaseImage(out); // an image of ours, not the caller's
    out = next;
    applied?.push(op.name);
  }
  return out;
}

// ----------------------------------------------------------------------------- tensors

/**
 * `(v / 255 - mean[c]) / std[c]` for every 8-bit value v of each channel c: `[3 * 256]`,
 * computed in doubles and rounded once to float32, which is what storing the double would give.
 */
function normalizeTable(mean: readonly number[], std: readonly number[]): Float32Array {
  const t = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) t[c * 256 + v] = (v / 255 - mean[c]!) / std[c]!;
  return t;
}
const IMAGENET_TABLE = normalizeTable(IMAGENET_MEAN, IMAGENET_STD);

/**
 * `(x / 255 - mean) / std` per channel, written into `out` at `offset` (`[H, W, 3]`, NHWC). A
 * table of the 3 x 256 values: the same doubles as computing each, rounded once to float32.
 */
export function normalizeInto(im: RgbImage, out: Float32Array, offset: number, mean: readonly number[] = IMAGENET_MEAN, std: readonly number[] = IMAGENET_STD): void {
  const t = mean === IMAGENET_MEAN && std === IMAGENET_STD ? IMAGENET_TABLE : normalizeTable(mean, std);
  const d = im.data;
  const n = d.length;
  for (let i = 0; i < n; i += 3) {
    out[offset + i] = t[d[i]!]!;
    out[offset + i + 1] = t[256 + d[i + 1]!]!;
    out[offset + i + 2] = t[512 + d[i + 2]!]!;
  }
}

// ----------------------------------------------------------------------------- Mixup / CutMix

/** Gamma(a, 1) by Marsaglia and Tsang (a >= 1), boosted for a < 1. */
function gamma(rng: Rng, a: number): number {
  if (a < 1) return gamma(rng, a + 1) * Math.pow(rng.next() || Number.MIN_VALUE, 1 / a);
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = gamma(rng, a);
  const y = gamma(rng, b);
  return x / (x + y);
}

export interface MixupArgs {
  /** Beta(alpha, alpha) of Mixup's lambda; 0 disables Mixup (DeiT 0.8). */
  mixupAlpha: number;
  /** Beta(alpha, alpha) of CutMix's lambda; 0 disables CutMix (DeiT 1.0). */
  cutmixAlpha: number;
  /** Probability of mixing a batch at all (timm mixup_prob, DeiT 1.0). */
  prob: number;
  /** Probability of CutMix instead of Mixup when both are enabled (DeiT 0.5). */
  switchProb: number;
  /** Label smoothing folded into the soft targets (DeiT 0.1). */
  labelSmoothing: number;
}

export interface MixResult {
  lam: number;
  kind: 'mixup' | 'cutmix' | 'none';
  /** CutMix box (pixels), when kind is 'cutmix'. */
  box?: { y0: number; y1: number; x0: number; x1: number };
}

/**
 * timm `Mixup` in 'batch' mode, the draw: whether the batch is mixed, how (Mixup or CutMix), its
 * lambda and, for CutMix, the box (timm's rand_bbox, side sqrt(1 - lam) times the image's,
 * centred uniformly, clipped) with lambda corrected to the box actually pasted (correct_lam).
 */
export function drawMix(H: number, W: number, args: MixupArgs, rng: Rng): MixResult {
  if (!(rng.next() < args.prob && (args.mixupAlpha > 0 || args.cutmixAlpha > 0))) return { lam: 1, kind: 'none' };
  const useCutmix = args.mixupAlpha > 0 && args.cutmixAlpha > 0 ? rng.next() < args.switchProb : args.cutmixAlpha > 0;
  const lam = useCutmix ? sampleBeta(rng, args.cutmixAlpha, args.cutmixAlpha) : sampleBeta(rng, args.mixupAlpha, args.mixupAlpha);
  if (!useCutmix) return { lam, kind: 'mixup' };
  const r = Math.sqrt(1 - lam);
  const ch = Math.trunc(H * r);
  const cw = Math.trunc(W * r);
  const cy = rng.int(H);
  const cx = rng.int(W);
  const clip = (v: number, hi: number) => Math.max(0, Math.min(hi, v));
  const box = { y0: clip(cy - Math.trunc(ch / 2), H), y1: clip(cy + Math.trunc(ch / 2), H), x0: clip(cx - Math.trunc(cw / 2), W), x1: clip(cx + Math.trunc(cw / 2), W) };
  return { lam: 1 - ((box.y1 - box.y0) * (box.x1 - box.x0)) / (H * W), kind: 'cutmix', box };
}

/**
 * Mixes images `a` and `b` (indices into `x`, `[N, H, W, 3]` normalised) with each other in place,
 * as `mix` says: Mixup gives a: lam a + (1 - lam) b and b: lam b + (1 - lam) a; CutMix swaps the
 * box. `a === b` (the middle example of an odd batch) is mixed with itself as the batch rule
 * does (the same floats as before for Mixup, unchanged for CutMix). Touches only the two images,
 * so the pairs of a batch can be mixed by different threads.
 */
export function mixPair(x: Float32Array, a: number, b: number, H: number, W: number, mix: MixResult): void {
  const px = H * W * 3;
  const oa = a * px;
  const ob = b * px;
  if (mix.kind === 'mixup') {
    const lam = mix.lam;
    const rest = 1 - lam;
    for (let k = 0; k < px; k++) {
      const u = x[oa + k]!;
      const v = x[ob + k]!;
      x[oa + k] = lam * u + rest * v;
      x[ob + k] = lam * v + rest * u;
    }
  } else if (mix.kind === 'cutmix' && a !== b) {
    const box = mix.box!;
    const len = (box.x1 - box.x0) * 3;
    for (let yy = box.y0; yy < box.y1; yy++) {
      const row = (yy * W + box.x0) * 3;
      for (let k = row; k < row + len; k++) {
        const u = x[oa + k]!;
        x[oa + k] = x[ob + k]!;
        x[ob + k] = u;
      }
    }
  }
}

/**
 * The soft targets `[B, C]` of a batch mixed by `mix`: lam * smooth(onehot(y_i)) + (1 - lam) *
 * smooth(onehot(y_{B-1-i})), smoothing off = e / C, on = 1 - e + e / C.
 */
export function mixTargets(labels: Int32Array, numClasses: number, labelSmoothing: number, lam: number): Float32Array {
  const B = labels.length;
  const off = labelSmoothing / numClasses;
  const on = 1 - labelSmoothing + off;
  const targets = new Float32Array(B * numClasses);
  for (let i = 0; i < B; i++) {
    for (let c = 0; c < numClasses; c++) {
      const t1 = labels[i] === c ? on : off;
      const t2 = labels[B - 1 - i] === c ? on : off;
      targets[i * numClasses + c] = lam * t1 + (1 - lam) * t2;
    }
  }
  return targets;
}

/**
 * timm `Mixup` in 'batch' mode, in place on normalised images `x` `[B, H, W, 3]`: every example i
 * is mixed with example B-1-i (the batch flipped) with one lambda for the batch (`drawMix`,
 * `mixPair` for each pair), and the soft targets `[B, C]` (`mixTargets`).
 */
export function mixupCutmix(x: Float32Array, labels: Int32Array, B: number, H: number, W: number, numClasses: number, args: MixupArgs, rng: Rng): { targets: Float32Array; mix: MixResult } {
  const mix = drawMix(H, W, args, rng);
  for (let i = 0; 2 * i < B; i++) mixPair(x, i, B - 1 - i, H, W, mix);
  return { targets: mixTargets(labels.subarray(0, B), numClasses, args.labelSmoothing, mix.lam), mix };
}
