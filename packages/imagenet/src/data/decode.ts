/**
 * Decoding, cropping and resizing with sharp (libvips): one file at a time, straight to an
 * 8-bit RGB buffer of the output size, so memory holds a batch, never the dataset.
 * Resampling is bicubic (sharp's 'cubic', Catmull-Rom, as PIL's BICUBIC with a = -0.5), with
 * libvips' anti-aliasing when shrinking.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import type { Rng } from '@flowformer/core';
import { centerCropBox, newImage, randomResizedCropBox, resizeShorter, type CropBox, type RgbImage } from './augment.ts';

// The pipeline reads every file once per epoch: libvips' operation cache would only hold
// memory. Parallelism comes from decoding several files at once (split.ts), so each decode
// uses one libvips thread.
sharp.cache(false);
sharp.concurrency(1);

async function readImage(file: string): Promise<{ buf: Buffer; width: number; height: number }> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new Error(`imagenet: cannot read ${file}: ${(e as Error).message}`);
  }
  if (buf.length === 0) throw new Error(`imagenet: ${file} is empty (0 bytes); re-extract it or delete it from the class folder`);
  try {
    const meta = await sharp(buf).metadata();
    if (!meta.width || !meta.height) throw new Error('no image size in the header');
    return { buf, width: meta.width, height: meta.height };
  } catch (e) {
    throw new Error(`imagenet: ${file} is not a readable image (${(e as Error).message}); replace it or delete it from the class folder`);
  }
}

/** Runs a sharp pipeline to raw sRGB (alpha dropped, grey and CMYK converted) of exactly `w` x `h`. */
async function toRgb(file: string, pipeline: Sharp, w: number, h: number): Promise<RgbImage> {
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(`imagenet: cannot decode ${file} (${(e as Error).message}); replace it or delete it from the class folder`);
  }
  const { info, data } = out;
  if (info.width !== w || info.height !== h) throw new Error(`imagenet: ${file} decoded to ${info.width}x${info.height}, expected ${w}x${h}`);
  const im = newImage(w, h);
  if (info.channels === 3) im.data.set(data);
  else if (info.channels === 1) for (let i = 0; i < w * h; i++) im.data.fill(data[i]!, 3 * i, 3 * i + 3);
  else throw new Error(`imagenet: ${file} decoded to ${info.channels} channels, expected 3`);
  return im;
}

/** The size of an image file from its header (no decoding). */
export async function imageSize(file: string): Promise<{ width: number; height: number }> {
  const { width, height } = await readImage(file);
  return { width, height };
}

/** Decodes the whole file at its own size, nothing else (the decode-only cost `benchData` measures). */
export async function decodeFull(file: string): Promise<RgbImage> {
  const { buf, width, height } = await readImage(file);
  return toRgb(file, sharp(buf), width, height);
}

/** Decodes `box` of the file and resizes it (bicubic, aspect not kept) to `size` x `size`. */
export async function decodeCropResize(file: string, box: CropBox | ((width: number, height: number) => CropBox) | null, size: number): Promise<RgbImage> {
  const { buf, width, height } = await readImage(file);
  const b = typeof box === 'function' ? box(width, height) : (box ?? { left: 0, top: 0, width, height });
  let p = sharp(buf);
  if (b.left !== 0 || b.top !== 0 || b.width !== width || b.height !== height) p = p.extract(b);
  if (b.width !== size || b.height !== size) p = p.resize(size, size, { fit: 'fill', kernel: 'cubic' });
  return toRgb(file, p, size, size);
}

/** Training crop: torchvision `RandomResizedCrop(size, scale, ratio, bicubic)`. */
export async function decodeRandomResizedCrop(file: string, size: number, rng: Rng, scale: [number, number], ratio: [number, number]): Promise<RgbImage> {
  return decodeCropResize(file, (width, height) => randomResizedCropBox(width, height, rng, scale, ratio), size);
}

/**
 * Evaluation view: `Resize(int(size / cropPct))` (shorter side, bicubic) then `CenterCrop(size)`,
 * DeiT's 256/224 for cropPct 0.875. With cropPct 1 an image already `size` x `size` is only decoded.
 */
export async function decodeEval(file: string, size: number, cropPct: number): Promise<RgbImage> {
  const { buf, width, height } = await readImage(file);
  const short = Math.floor(size / cropPct);
  const r = resizeShorter(width, height, short);
  let p = sharp(buf);
  if (r.width !== width || r.height !== height) p = p.resize(r.width, r.height, { fit: 'fill', kernel: 'cubic' });
  if (r.width !== size || r.height !== size) p = p.extract(centerCropBox(r.width, r.height, size));
  return toRgb(file, p, size, size);
}

/**
 * torchvision `RandomCrop(size, padding=4)` (the original Flowformer/DeiT code's training crop
 * for inputs of 32 pixels or less): zero-pad by `padding`, then a uniform `size` crop. An image
 * of another size is first resized to `size` x `size`.
 */
export async function decodePadRandomCrop(file: string, size: number, padding: number, rng: Rng): Promise<RgbImage> {
  const im = await decodeCropResize(file, null, size);
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
  return out;
}
