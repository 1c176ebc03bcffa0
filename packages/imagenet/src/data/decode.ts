/**
 * Decoding one file at a time straight to an 8-bit RGB buffer, so memory holds a batch, never the
 * dataset: a plain JPEG (8-bit, grey or 3 components, no ICC profile) by libjpeg-turbo's decoder
 * compiled to WebAssembly (@jsquash/jpeg, MozJPEG's decoder: libjpeg-turbo's, the same bytes as
 * libvips gives, which uses it too), at a few hundredths of a millisecond for a small image where a
 * libvips pipeline costs a fixed millisecond; anything else through sharp (libvips), which also
 * converts CMYK and embedded colour profiles to sRGB. Then cropping and resizing in `augment.ts` with PIL's own
 * bicubic resampling (`cropResizeBicubic`, the same bytes as the original's PIL pipeline), which
 * for the training crop of a small image is also several times cheaper than a libvips pipeline.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import decodeJpegWasm, { init as initJpegWasm } from '@jsquash/jpeg/decode.js';
import sharp, { type OutputInfo } from 'sharp';
import type { Rng } from '@flowformer/core';
import { centerCropBox, cropResizeBicubic, newImage, randomResizedCropBox, releaseImage, resizeShorter, type RgbImage } from './augment.ts';

// The pipeline reads every file once per epoch: libvips' operation cache would only hold
// memory. Parallelism comes from decoding several files at once (worker threads, split.ts), so
// each decode uses one libvips thread.
sharp.cache(false);
sharp.concurrency(1);

async function readBytes(file: string): Promise<Buffer> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new Error(`imagenet: cannot read ${file}: ${(e as Error).message}`);
  }
  if (buf.length === 0) throw new Error(`imagenet: ${file} is empty (0 bytes); re-extract it or delete it from the class folder`);
  return buf;
}

/**
 * Whether `buf` is a JPEG the WebAssembly decoder gives sharp's bytes for: markers up to the
 * first scan show a Huffman-coded frame (baseline, extended or progressive) of 8-bit samples with
 * 1 or 3 components, and no ICC profile (which sharp would apply). EXIF orientation is ignored by
 * both.
 */
export function isPlainJpeg(buf: Uint8Array): boolean {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return false;
  // A file cut short has no end-of-image marker; libvips fails it, libjpeg would only warn.
  if (buf[buf.length - 2] !== 0xff || buf[buf.length - 1] !== 0xd9) return false;
  let frame = false;
  let p = 2;
  while (p + 4 <= buf.length) {
    if (buf[p] !== 0xff) return false;
    const m = buf[p + 1]!;
    if (m === 0xff) {
      p++; // fill byte
      continue;
    }
    const len = (buf[p + 2]! << 8) | buf[p + 3]!;
    if (m === 0xda) return frame; // start of scan: every header marker seen
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      // SOFn: only SOF0-2 (Huffman), 8-bit precision, 1 or 3 components.
      if (m > 0xc2 || p + 10 > buf.length || buf[p + 4] !== 8 || (buf[p + 9] !== 1 && buf[p + 9] !== 3)) return false;
      frame = true;
    }
    if (m === 0xe2 && len >= 14 && String.fromCharCode(...buf.subarray(p + 4, p + 15)) === 'ICC_PROFILE') return false;
    p += 2 + len;
  }
  return false;
}

// The decoder's WebAssembly module, compiled once per thread on first use; a failed decode
// (libjpeg exits) ends the instance, so the next one starts a fresh instance. libjpeg's warnings
// (corrupt data it decodes anyway) go to `printErr`: sharp fails such files, so they go to sharp.
let jpegWasm: Promise<void> | null = null;
let jpegWarned = false;
// Node's WebAssembly global (the compiler's lib settings declare no DOM or WebAssembly types).
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<unknown> } }).WebAssembly;
const JPEG_WASM = createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm');
async function wasmJpegToRgb(buf: Buffer): Promise<RgbImage | null> {
  jpegWasm ??= readFile(JPEG_WASM)
    .then((bytes) => wasm.compile(bytes))
    // init(module, options) at run time; its typings list only the options.
    .then((mod) => (initJpegWasm as unknown as (m: unknown, o: object) => Promise<void>)(mod, { print: () => {}, printErr: () => (jpegWarned = true) }));
  await jpegWasm;
  let rgba: { width: number; height: number; data: Uint8ClampedArray };
  jpegWarned = false;
  try {
    rgba = await decodeJpegWasm(new Uint8Array(buf.buffer, buf.byteOffset, buf.length) as unknown as ArrayBuffer);
  } catch {
    jpegWasm = null;
    return null; // sharp decodes it or names the problem
  }
  if (jpegWarned) return null;
  const im = newImage(rgba.width, rgba.height);
  const d = rgba.data;
  const o = im.data;
  for (let i = 0, j = 0; i < d.length; i += 4, j += 3) {
    o[j] = d[i]!;
    o[j + 1] = d[i + 1]!;
    o[j + 2] = d[i + 2]!;
  }
  return im;
}

/** Decodes the whole file at its own size to RGB (alpha dropped, grey and CMYK converted). */
export async function decodeFull(file: string): Promise<RgbImage> {
  const buf = await readBytes(file);
  if (isPlainJpeg(buf)) {
    const im = await wasmJpegToRgb(buf);
    if (im) return im;
  }
  return decodeWithSharp(file, buf);
}

/** Decodes with sharp (libvips) in one pass: alpha dropped, grey, CMYK and colour profiles to sRGB. */
export async function decodeWithSharp(file: string, buf: Buffer): Promise<RgbImage> {
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await sharp(buf).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(`imagenet: ${file} is not a readable image (${(e as Error).message}); replace it or delete it from the class folder`);
  }
  const { info, data } = out;
  const im = newImage(info.width, info.height);
  if (info.channels === 3) im.data.set(data);
  else if (info.channels === 1) for (let i = 0; i < info.width * info.height; i++) im.data.fill(data[i]!, 3 * i, 3 * i + 3);
  else throw new Error(`imagenet: ${file} decoded to ${info.channels} channels, expected 3`);
  return im;
}

/**
 * Training crop: torchvision `RandomResizedCrop(size, scale, ratio, bicubic)` on the decoded
 * image, PIL's resampling, then `RandomHorizontalFlip(hflipProb)` (its coin drawn after the box),
 * the flip done inside the resize where it costs a few rows rather than a pass over the output.
 */
export async function decodeRandomResizedCrop(file: string, size: number, rng: Rng, scale: [number, number], ratio: [number, number], hflipProb = 0): Promise<RgbImage> {
  const im = await decodeFull(file);
  const box = randomResizedCropBox(im.width, im.height, rng, scale, ratio);
  const flip = hflipProb > 0 && rng.next() < hflipProb;
  const out = cropResizeBicubic(im, box, size, size, flip);
  releaseImage(im);
  return out;
}

/**
 * Evaluation view: `Resize(int(size / cropPct))` (shorter side, bicubic) then `CenterCrop(size)`,
 * DeiT's 256/224 for cropPct 0.875, with PIL's resampling. With cropPct 1 an image already
 * `size` x `size` is only decoded.
 */
export async function decodeEval(file: string, size: number, cropPct: number): Promise<RgbImage> {
  const im = await decodeFull(file);
  const r = resizeShorter(im.width, im.height, Math.floor(size / cropPct));
  const resized = r.width === im.width && r.height === im.height ? im : cropResizeBicubic(im, { left: 0, top: 0, width: im.width, height: im.height }, r.width, r.height);
  if (resized !== im) releaseImage(im);
  if (r.width === size && r.height === size) return resized;
  const out = cropResizeBicubic(resized, centerCropBox(r.width, r.height, size), size, size);
  releaseImage(resized);
  return out;
}

/**
 * torchvision `RandomCrop(size, padding=4)` (the original Flowformer/DeiT code's training crop
 * for inputs of 32 pixels or less): zero-pad by `padding`, then a uniform `size` crop. An image
 * of another size is first resized to `size` x `size`.
 */
export async function decodePadRandomCrop(file: string, size: number, padding: number, rng: Rng): Promise<RgbImage> {
  const full = await decodeFull(file);
  const im = full.width === size && full.height === size ? full : cropResizeBicubic(full, { left: 0, top: 0, width: full.width, height: full.height }, size, size);
  if (im !== full) releaseImage(full);
  const top = rng.int(2 * padding + 1) - padding;
  const left = rng.int(2 * padding + 1) - padding;
  const out = newImage(size, size); // zeros outside the image: the padding
  for (let y = 0; y < size; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= size) continue;
    for (let x = 0; x < size; x++) {
      const sx = x + left;
      if (sx < 0 || sx >= size) continue;
      out.data.set(im.data.subarray((sy * size + sx) * 3, (sy * size + sx) * 3 + 3), (y * size + x) * 3);
    }
  }
  releaseImage(im);
  return out;
}
