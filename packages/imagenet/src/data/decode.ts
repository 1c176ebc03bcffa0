/**
 * Decoding with sharp (libvips), one file at a time, straight to an 8-bit RGB buffer, so memory
 * holds a batch, never the dataset; then cropping and resizing in `augment.ts` with PIL's own
 * bicubic resampling (`cropResizeBicubic`, the same bytes as the original's PIL pipeline), which
 * for the training crop of a small image is also several times cheaper than a libvips pipeline.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type OutputInfo } from 'sharp';
import type { Rng } from '@flowformer/core';
import { centerCropBox, cropResizeBicubic, newImage, randomResizedCropBox, resizeShorter, type RgbImage } from './augment.ts';

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

/** Decodes the whole file at its own size to RGB (alpha dropped, grey and CMYK converted), in one libvips pass. */
export async function decodeFull(file: string): Promise<RgbImage> {
  const buf = await readBytes(file);
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
  return cropResizeBicubic(im, box, size, size, flip);
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
  return r.width === size && r.height === size ? resized : cropResizeBicubic(resized, centerCropBox(r.width, r.height, size), size, size);
}

/**
 * torchvision `RandomCrop(size, padding=4)` (the original Flowformer/DeiT code's training crop
 * for inputs of 32 pixels or less): zero-pad by `padding`, then a uniform `size` crop. An image
 * of another size is first resized to `size` x `size`.
 */
export async function decodePadRandomCrop(file: string, size: number, padding: number, rng: Rng): Promise<RgbImage> {
  const full = await decodeFull(file);
  const im = full.width === size && full.height === size ? full : cropResizeBicubic(full, { left: 0, top: 0, width: full.width, height: full.height }, size, size);
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
