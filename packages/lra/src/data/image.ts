/**
 * LRA "Image": CIFAR-10 as sequences of 1024 grayscale pixel tokens (values 0-255).
 *
 * LRA converts with `tf.image.rgb_to_grayscale` on the uint8 image, which computes, in
 * float32: x/255 per channel, gray = 0.2989 r + 0.5870 g + 0.1140 b, then back to uint8 as
 * `int(gray * 255.5)` (convert_image_dtype scales by max + 0.5 and truncates). We do the same
 * arithmetic in float32 (`Math.fround`) so the tokens match TensorFlow's.
 *
 * Splits as LRA (tfds `train[:90%]`, `train[90%:]`, `test`): the first 90% of the training
 * images train, the last 10% validate, the test batch tests.
 *
 * Two on-disk forms:
 * - the original binary batches (`cifar-10-batches-bin/data_batch_1..5.bin`, `test_batch.bin`:
 *   records of 1 label byte + 1024 R + 1024 G + 1024 B bytes);
 * - image folders `{train,test}/<class>/*.{png,jpg}` with classes in sorted order (as
 *   `../shared/data/cifar10`), decoded with sharp. Sorted folders are ordered by class, so
 *   before the 90/10 split the training images are shuffled with a fixed seed.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import sharp, { type OutputInfo } from 'sharp';
import { Rng } from '@flowformer/core';
import { mapLimit } from '@flowformer/core/io';
import { DataFormatError, MissingDataError } from './errors.ts';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;
export const CIFAR_RECORD_BYTES = 1 + 3 * 1024;

/** Pixel tokens of a set of images: `pixels` holds `count * height * width` values 0-255. */
export interface PixelImages {
  pixels: Uint8Array;
  labels: Int32Array;
  height: number;
  width: number;
  count: number;
}

const W_R = Math.fround(0.2989);
const W_G = Math.fround(0.587);
const W_B = Math.fround(0.114);
const INV_255 = Math.fround(1 / 255);
const SCALE_BACK = Math.fround(255.5);

/** `tf.image.rgb_to_grayscale` on one uint8 pixel, in float32 arithmetic. */
export function grayscaleTf(r: number, g: number, b: number): number {
  const fr = Math.fround(r * INV_255);
  const fg = Math.fround(g * INV_255);
  const fb = Math.fround(b * INV_255);
  const gray = Math.fround(Math.fround(Math.fround(fr * W_R) + Math.fround(fg * W_G)) + Math.fround(fb * W_B));
  return Math.trunc(Math.fround(gray * SCALE_BACK));
}

/** Planar RGB (CIFAR's R plane, G plane, B plane) to grayscale tokens. */
function planarToGray(src: Uint8Array, srcOffset: number, out: Uint8Array, outOffset: number, n: number): void {
  for (let i = 0; i < n; i++) out[outOffset + i] = grayscaleTf(src[srcOffset + i]!, src[srcOffset + n + i]!, src[srcOffset + 2 * n + i]!);
}

export const CIFAR_HOW_TO_GET =
  'Download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and unpack it there ' +
  "(or run 'flowformer data download --task lra --dataset image').";

/** Reads CIFAR-10 binary batch files (each a whole number of 3073-byte records). */
export function readCifarBinary(files: string[]): PixelImages {
  const parts: Buffer[] = [];
  for (const f of files) {
    if (!existsSync(f)) throw new MissingDataError('CIFAR-10 binary batch', f, CIFAR_HOW_TO_GET);
    const b = readFileSync(f);
    if (b.length === 0 || b.length % CIFAR_RECORD_BYTES !== 0) {
      throw new DataFormatError(f, undefined, `size ${b.length} bytes is not a positive multiple of ${CIFAR_RECORD_BYTES} (1 label byte + 3072 pixel bytes per record); the file is truncated or not a CIFAR-10 binary batch`);
    }
    for (let r = 0; r < b.length / CIFAR_RECORD_BYTES; r++) {
      const label = b[r * CIFAR_RECORD_BYTES]!;
      if (label > 9) throw new DataFormatError(f, undefined, `record ${r} (byte offset ${r * CIFAR_RECORD_BYTES}) has label ${label}; CIFAR-10 labels are 0-9`);
    }
    parts.push(b);
  }
  const count = parts.reduce((n, b) => n + b.length / CIFAR_RECORD_BYTES, 0);
  const pixels = new Uint8Array(count * 1024);
  const labels = new Int32Array(count);
  let k = 0;
  for (const b of parts) {
    for (let r = 0; r < b.length / CIFAR_RECORD_BYTES; r++, k++) {
      labels[k] = b[r * CIFAR_RECORD_BYTES]!;
      planarToGray(b, r * CIFAR_RECORD_BYTES + 1, pixels, k * 1024, 1024);
    }
  }
  return { pixels, labels, height: 32, width: 32, count };
}

/** The train (data_batch_1..5) and test (test_batch) files of a `cifar-10-batches-bin` folder. */
export function cifarBinaryFiles(dir: string): { train: string[]; test: string[] } {
  return {
    train: [1, 2, 3, 4, 5].map((i) => path.join(dir, `data_batch_${i}.bin`)),
    test: [path.join(dir, 'test_batch.bin')],
  };
}

/** Decodes one image file to grayscale tokens of the expected size; errors name the file. */
export async function decodeGrayImage(file: string, height: number, width: number): Promise<Uint8Array> {
  let data: Buffer;
  let info: OutputInfo;
  try {
    ({ data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw new DataFormatError(file, undefined, `cannot decode the image (${(e as Error).message})`);
  }
  if (info.width !== width || info.height !== height) {
    throw new DataFormatError(file, undefined, `image is ${info.width}x${info.height}, expected ${width}x${height}`);
  }
  const n = width * height;
  const out = new Uint8Array(n);
  if (info.channels === 1) {
    out.set(data.subarray(0, n));
  } else if (info.channels === 3) {
    for (let i = 0; i < n; i++) out[i] = grayscaleTf(data[3 * i]!, data[3 * i + 1]!, data[3 * i + 2]!);
  } else {
    throw new DataFormatError(file, undefined, `unexpected channel count ${info.channels} (expected 1 or 3)`);
  }
  return out;
}

// The pathfinder reader and generator import it from here.
export { mapLimit };

const IMAGE_EXT = /\.(png|jpe?g|bmp|webp|tiff?)$/i;

/**
 * Reads an image-folder split `<dir>/<class>/*` (classes = sorted subfolder names) into
 * grayscale tokens. `classes`, when given, must equal the sorted folder names.
 */
export async function readImageFolder(dir: string, height = 32, width = 32, classes?: readonly string[]): Promise<PixelImages & { classes: string[]; files: string[] }> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new MissingDataError('image folder', dir, CIFAR_HOW_TO_GET);
  const found = readdirSync(dir)
    .filter((n) => statSync(path.join(dir, n)).isDirectory())
    .sort();
  if (found.length === 0) throw new DataFormatError(dir, undefined, 'no class subfolders');
  if (classes && found.join(',') !== classes.join(',')) {
    throw new DataFormatError(dir, undefined, `class folders [${found.join(', ')}] differ from the expected [${classes.join(', ')}]`);
  }
  const files: string[] = [];
  const labels: number[] = [];
  found.forEach((c, ci) => {
    const names = readdirSync(path.join(dir, c))
      .filter((n) => IMAGE_EXT.test(n))
      .sort();
    if (names.length === 0) throw new DataFormatError(path.join(dir, c), undefined, 'class folder holds no images');
    for (const n of names) {
      files.push(path.join(dir, c, n));
      labels.push(ci);
    }
  });
  const decoded = await mapLimit(files, 8, (f) => decodeGrayImage(f, height, width));
  const pixels = new Uint8Array(files.length * height * width);
  decoded.forEach((d, i) => pixels.set(d, i * height * width));
  return { pixels, labels: Int32Array.from(labels), height, width, count: files.length, classes: found, files };
}

/** Selects images by index. */
export function subsetImages(x: PixelImages, idx: ArrayLike<number>): PixelImages {
  const n = x.height * x.width;
  const pixels = new Uint8Array(idx.length * n);
  const labels = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    pixels.set(x.pixels.subarray(idx[i]! * n, (idx[i]! + 1) * n), i * n);
    labels[i] = x.labels[idx[i]!]!;
  }
  return { pixels, labels, height: x.height, width: x.width, count: idx.length };
}

/**
 * LRA's 90/10 split of the training images: the first `trainFraction` in `order` train, the
 * rest validate. `order` defaults to file order (right for the shuffled binary batches); pass
 * a seeded permutation for class-sorted folders.
 */
export function splitTrainVal(x: PixelImages, trainFraction = 0.9, shuffleSeed?: number): { train: PixelImages; val: PixelImages } {
  const order = shuffleSeed === undefined ? Int32Array.from({ length: x.count }, (_, i) => i) : new Rng(shuffleSeed).permutation(x.count);
  const nTrain = Math.round(x.count * trainFraction);
  return { train: subsetImages(x, order.subarray(0, nTrain)), val: subsetImages(x, order.subarray(nTrain)) };
}
