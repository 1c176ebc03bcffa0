import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, tf } from '@flowformer/core';
import {
  adjustBrightness,
  autoContrast,
  centerCropBox,
  colorJitter,
  cropResizeBicubic,
  decodeFull,
  decodeEval,
  decodePadRandomCrop,
  decodeRandomResizedCrop,
  equalize,
  hflip,
  IMAGENET_MEAN,
  IMAGENET_STD,
  ImageFolderSplit,
  invert,
  mixupCutmix,
  newImage,
  normalizeInto,
  posterize,
  randAugment,
  randomResizedCropBox,
  releaseImage,
  readIlsvrcValLabels,
  resizeShorter,
  rotate,
  sampleBeta,
  scanImageFolder,
  solarize,
  sortIlsvrcVal,
  translateX,
  DEIT_RANDAUGMENT,
  type RgbImage,
} from '../src/index.ts';
import { pipelineOf } from '../src/build.ts';
import { decodeWithSharp, isPlainJpeg } from '../src/data/decode.ts';
import { ImagenetDataSchema } from '../src/schema.ts';
import { shared, tempDir } from './helpers.ts';

const cifar = shared('cifar10');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const meanOf = (im: RgbImage) => im.data.reduce((a, b) => a + b, 0) / im.data.length;
const gradient = (W: number, H: number): RgbImage => {
  const data = new Uint8ClampedArray(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set([(x * 255) / (W - 1), (y * 255) / (H - 1), 128], (y * W + x) * 3);
  return { width: W, height: H, data };
};

describe.skipIf(!cifar.present)(`image folders on the real CIFAR-10 copy ${cifar.reason}`, () => {
  it('lists classes in sorted order and every image, train 5,000 / test 10,000', () => {
    const train = scanImageFolder(path.join(cifar.path, 'train'));
    const test = scanImageFolder(path.join(cifar.path, 'test'), { classes: train.classes });
    expect(train.classes).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    expect(train.files.length).toBe(5000);
    expect(test.files.length).toBe(10000);
    expect(train.labels[0]).toBe(0);
    expect(train.labels[4999]).toBe(9);
    expect(path.basename(path.dirname(train.files[1234]!))).toBe(train.classes[train.labels[1234]!]);
  });

  it('RandomResizedCrop: 224 output from real 32x32 images; area and ratio of the boxes within the recipe', async () => {
    const rng = new Rng(1);
    const areas: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const b = randomResizedCropBox(500, 375, rng);
      expect(b.left).toBeGreaterThanOrEqual(0);
      expect(b.top).toBeGreaterThanOrEqual(0);
      expect(b.left + b.width).toBeLessThanOrEqual(500);
      expect(b.top + b.height).toBeLessThanOrEqual(375);
      const r = b.width / b.height;
      areas.push((b.width * b.height) / (500 * 375));
      expect(r).toBeGreaterThan(0.74);
      expect(r).toBeLessThan(1.35);
    }
    expect(Math.min(...areas)).toBeGreaterThanOrEqual(0.075);
    expect(Math.max(...areas)).toBeLessThanOrEqual(1);
    // uniform scale in [0.08, 1] minus rejected large boxes: the mean is a bit below 0.54
    const mean = areas.reduce((a, b) => a + b, 0) / areas.length;
    expect(mean).toBeGreaterThan(0.35);
    expect(mean).toBeLessThan(0.56);
    const file = path.join(cifar.path, 'train/cat/0000.jpg');
    const im = await decodeRandomResizedCrop(file, 224, new Rng(2), [0.08, 1], [3 / 4, 4 / 3]);
    expect([im.width, im.height, im.data.length]).toEqual([224, 224, 224 * 224 * 3]);
    // a bicubic up-sampling of a natural image: values spread, no black frame
    expect(meanOf(im)).toBeGreaterThan(10);
    expect(meanOf(im)).toBeLessThan(245);
  });

  it('evaluation view: resize the shorter side to size/0.875 then centre crop; with cropPct 1 a 32x32 image is unchanged', async () => {
    expect(resizeShorter(500, 375, 256)).toEqual({ width: 341, height: 256 });
    expect(centerCropBox(341, 256, 224)).toEqual({ top: 16, left: 59, width: 224, height: 224 });
    const file = path.join(cifar.path, 'test/dog/0007.jpg');
    const raw = await sharp(file).removeAlpha().raw().toBuffer();
    const same = await decodeEval(file, 32, 1);
    expect(Buffer.from(same.data).equals(raw)).toBe(true);
    const up = await decodeEval(file, 224, 0.875); // 32 -> 256 -> centre 224
    expect([up.width, up.height]).toEqual([224, 224]);
    // the crop keeps the central 224/256 of the image: its mean is that of the central 28x28 of the 32x32
    let s = 0;
    for (let y = 2; y < 30; y++) for (let x = 2; x < 30; x++) for (let c = 0; c < 3; c++) s += same.data[(y * 32 + x) * 3 + c]!;
    expect(Math.abs(meanOf(up) - s / (28 * 28 * 3))).toBeLessThan(2);
  });

  it('pad-random crop: 32x32, the shifted image with zero borders', async () => {
    const file = path.join(cifar.path, 'train/ship/0001.jpg');
    const im = await decodePadRandomCrop(file, 32, 4, new Rng(5));
    expect([im.width, im.height]).toEqual([32, 32]);
    const src = await decodeEval(file, 32, 1);
    // some shift (dy, dx) in [-4, 4] maps src onto im exactly
    let found = false;
    for (let dy = -4; dy <= 4 && !found; dy++) {
      for (let dx = -4; dx <= 4 && !found; dx++) {
        let ok = true;
        for (let y = 0; y < 32 && ok; y++) for (let x = 0; x < 32 && ok; x++) {
          const sy = y + dy, sx = x + dx;
          const want = sy < 0 || sy >= 32 || sx < 0 || sx >= 32 ? 0 : src.data[(sy * 32 + sx) * 3]!;
          if (im.data[(y * 32 + x) * 3] !== want) ok = false;
        }
        found = ok;
      }
    }
    expect(found).toBe(true);
  });

  it('normalisation with the ImageNet mean/std: per-channel statistics of 500 real images', async () => {
    const files = scanImageFolder(path.join(cifar.path, 'test')).files.filter((_, i) => i % 20 === 0);
    const x = new Float32Array(files.length * 32 * 32 * 3);
    for (let i = 0; i < files.length; i++) normalizeInto(await decodeEval(files[i]!, 32, 1), x, i * 3072);
    for (let c = 0; c < 3; c++) {
      let s = 0;
      let n = 0;
      for (let i = c; i < x.length; i += 3) { s += x[i]!; n++; }
      const mean = s / n;
      // CIFAR-10's channel means (0.49, 0.48, 0.45) are close to ImageNet's: normalised means near 0
      expect(Math.abs(mean)).toBeLessThan(0.25);
      // and exact inversion of the formula
      expect(x[c]! * IMAGENET_STD[c]! + IMAGENET_MEAN[c]!).toBeGreaterThanOrEqual(-1e-6);
    }
  });

  it('a training batch through the split: shapes, soft targets, same rng -> same batch, no tensor leak', async () => {
    const folder = scanImageFolder(path.join(cifar.path, 'train'));
    const data = ImagenetDataSchema.parse({ imageSize: 32, trainCrop: 'pad-random', evalCropPct: 1 });
    const split = new ImageFolderSplit(folder, pipelineOf(data), 4);
    const before = tf.memory().numTensors;
    const idx = Int32Array.from([0, 700, 1400, 2100, 2800, 3500, 4200, 4900]);
    const a = await split.batch(idx, { training: true, rng: new Rng(9) });
    const b = await split.batch(idx, { training: true, rng: new Rng(9) });
    const c = await split.batch(idx, { training: true, rng: new Rng(10) });
    expect(a.x.shape).toEqual([8, 32, 32, 3]);
    expect(a.targets!.shape).toEqual([8, 10]);
    const sums = tf.sum(a.targets!, 1);
    const rows = sums.dataSync();
    sums.dispose();
    for (const r of rows) expect(r).toBeCloseTo(1, 5);
    expect(Array.from(a.x.dataSync())).toEqual(Array.from(b.x.dataSync()));
    expect(Array.from(a.x.dataSync())).not.toEqual(Array.from(c.x.dataSync()));
    const e = await split.batch(idx, { training: false, rng: new Rng(0) });
    expect(e.targets).toBeNull();
    expect(Array.from(e.labels.dataSync())).toEqual([0, 1, 2, 4, 5, 7, 8, 9]);
    for (const t of [a, b, c, e]) tf.dispose(t.tensors);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('augmentations (PIL/timm definitions)', () => {
  it('normalizeInto (a table of the 768 values) writes the float32 of (x / 255 - mean) / std exactly', () => {
    const rng = new Rng(11);
    const im: RgbImage = { width: 40, height: 30, data: Uint8ClampedArray.from({ length: 40 * 30 * 3 }, () => rng.int(256)) };
    const got = new Float32Array(5 + im.data.length);
    normalizeInto(im, got, 5);
    const want = new Float32Array(5 + im.data.length);
    for (let i = 0; i < im.data.length; i++) want[5 + i] = (im.data[i]! / 255 - IMAGENET_MEAN[i % 3]!) / IMAGENET_STD[i % 3]!;
    expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
  });

  it('pixel buffers: a released image lends its memory, zeroed, to one later image; foreign bytes are never taken', () => {
    const a = newImage(10, 10);
    a.data.fill(7);
    releaseImage(a);
    releaseImage(a); // twice: still only one later image gets it
    const b = newImage(6, 5); // smaller: fits in a's buffer
    expect(b.data.buffer).toBe(a.data.buffer);
    expect(b.data.length).toBe(90);
    expect(b.data.every((v) => v === 0)).toBe(true);
    const c = newImage(6, 5);
    expect(c.data.buffer).not.toBe(a.data.buffer);
    const foreign: RgbImage = { width: 10, height: 10, data: new Uint8ClampedArray(300) };
    releaseImage(foreign);
    expect(newImage(10, 10).data.buffer).not.toBe(foreign.data.buffer);
  });

  it('hflip mirrors; invert, solarize, posterize act per pixel', () => {
    const g = gradient(7, 5);
    const f = hflip(g);
    expect(f.data[0]).toBe(g.data[6 * 3]);
    expect(Array.from(hflip(f).data)).toEqual(Array.from(g.data));
    expect(invert(g).data[0]).toBe(255 - g.data[0]!);
    const s = solarize(g, 128);
    for (let i = 0; i < g.data.length; i++) expect(s.data[i]).toBe(g.data[i]! >= 128 ? 255 - g.data[i]! : g.data[i]);
    const p = posterize(g, 2);
    for (const v of p.data) expect([0, 64, 128, 192]).toContain(v);
  });

  it('autocontrast stretches to [0, 255]; equalize flattens the histogram', () => {
    const im: RgbImage = { width: 64, height: 64, data: new Uint8ClampedArray(64 * 64 * 3).map((_, i) => 100 + ((i * 7) % 50)) };
    const a = autoContrast(im);
    expect(Math.min(...a.data)).toBe(0);
    expect(Math.max(...a.data)).toBe(255);
    const e = equalize(im);
    expect(Math.max(...e.data) - Math.min(...e.data)).toBeGreaterThan(200);
  });

  it('geometry: rotate by 90 degrees of a square is a transpose-flip; translate shifts and fills with the mean colour', () => {
    const g = gradient(8, 8);
    const r = rotate(g, 90); // counter-clockwise: out(x, y) = in(W-1-y, x)
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
      expect(Math.abs(r.data[(y * 8 + x) * 3]! - g.data[(x * 8 + (7 - y)) * 3]!)).toBeLessThanOrEqual(1);
    }
    const t = translateX(g, 3);
    expect(t.data[0]).toBe(g.data[3 * 3]);
    expect(Array.from(t.data.slice((8 * 0 + 7) * 3, (8 * 0 + 7) * 3 + 3))).toEqual([124, 116, 104]);
  });

  it('colour jitter 0.4 and brightness: mean scales by the factor, statistics over many draws', () => {
    const g = gradient(16, 16);
    expect(meanOf(adjustBrightness(g, 0.5))).toBeCloseTo(meanOf(g) * 0.5, 0);
    const rng = new Rng(3);
    const ratios: number[] = [];
    for (let i = 0; i < 200; i++) ratios.push(meanOf(colorJitter(g, 0.4, rng)) / meanOf(g));
    expect(Math.min(...ratios)).toBeGreaterThan(0.45);
    expect(Math.max(...ratios)).toBeLessThan(1.6);
    expect(Math.abs(ratios.reduce((a, b) => a + b, 0) / ratios.length - 1)).toBeLessThan(0.1);
  });

  it('RandAugment m9: 2 ops with probability 0.5 each (about one op per image), output geometry unchanged', () => {
    const g = gradient(32, 32);
    const rng = new Rng(4);
    let ops = 0;
    const names = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const applied: string[] = [];
      const o = randAugment(g, rng, DEIT_RANDAUGMENT, applied);
      expect([o.width, o.height, o.data.length]).toEqual([32, 32, 32 * 32 * 3]);
      ops += applied.length;
      applied.forEach((n) => names.add(n));
    }
    expect(ops / 400).toBeGreaterThan(0.85);
    expect(ops / 400).toBeLessThan(1.15);
    expect(names.size).toBe(15);
  });

  it('Mixup/CutMix: Beta samples, lambda matches the pasted box, targets with smoothing 0.1 sum to 1', () => {
    const rng = new Rng(7);
    let m = 0;
    for (let i = 0; i < 4000; i++) m += sampleBeta(rng, 0.8, 0.8);
    expect(m / 4000).toBeCloseTo(0.5, 1);
    const B = 4, H = 8, W = 8, C = 5;
    const labels = Int32Array.from([0, 1, 2, 3]);
    const kinds = new Set<string>();
    for (let t = 0; t < 40; t++) {
      const x = new Float32Array(B * H * W * 3).map((_, i) => Math.floor(i / (H * W * 3))); // image i is constant i
      const { targets, mix } = mixupCutmix(x, labels, B, H, W, C, { mixupAlpha: 0.8, cutmixAlpha: 1, prob: 1, switchProb: 0.5, labelSmoothing: 0.1 }, rng);
      kinds.add(mix.kind);
      for (let i = 0; i < B; i++) {
        let s = 0;
        for (let c = 0; c < C; c++) s += targets[i * C + c]!;
        expect(s).toBeCloseTo(1, 5);
        // the mean pixel of mixed image 0 is lam * 0 + (1 - lam) * 3
        let px = 0;
        for (let k = 0; k < H * W * 3; k++) px += x[k]!;
        expect(px / (H * W * 3)).toBeCloseTo((1 - mix.lam) * 3, 4);
        // own class gets lam * 0.92 + 0.02 (+ the partner's share when equal)
        expect(targets[0 * C + 0]).toBeCloseTo(mix.lam * (0.9 + 0.02) + (1 - mix.lam) * 0.02, 5);
      }
    }
    expect(kinds).toEqual(new Set(['mixup', 'cutmix']));
  });

  it('Mixup/CutMix in place give the floats of mixing each example with the un-mixed flipped batch, odd and even batches', () => {
    for (const B of [5, 6]) {
      const H = 6, W = 7, px = H * W * 3;
      const labels = Int32Array.from({ length: B }, (_, i) => i % 3);
      const kinds = new Set<string>();
      for (let t = 0; t < 12; t++) {
        const data = new Rng(100 + t);
        const x = Float32Array.from({ length: B * px }, () => data.normal());
        const src = new Float32Array(x);
        const { mix } = mixupCutmix(x, labels, B, H, W, 3, { mixupAlpha: 0.8, cutmixAlpha: 1, prob: 1, switchProb: 0.5, labelSmoothing: 0.1 }, new Rng(t));
        kinds.add(mix.kind);
        const want = new Float32Array(src);
        for (let i = 0; i < B; i++) {
          const a = i * px;
          const b = (B - 1 - i) * px;
          if (mix.kind === 'mixup') for (let k = 0; k < px; k++) want[a + k] = mix.lam * src[a + k]! + (1 - mix.lam) * src[b + k]!;
          else for (let y = mix.box!.y0; y < mix.box!.y1; y++) for (let k = (y * W + mix.box!.x0) * 3; k < (y * W + mix.box!.x1) * 3; k++) want[a + k] = src[b + k]!;
        }
        expect(Buffer.from(x.buffer).equals(Buffer.from(want.buffer)), `B ${B} draw ${t} (${mix.kind})`).toBe(true);
      }
      expect(kinds).toEqual(new Set(['mixup', 'cutmix']));
    }
  });
});

describe('errors and the ILSVRC validation helper', () => {
  it('names the empty class folder, the empty file and the unreadable image', async () => {
    const root = path.join(tmp.dir, 'bad');
    mkdirSync(path.join(root, 'a'), { recursive: true });
    mkdirSync(path.join(root, 'b'), { recursive: true });
    await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 1, g: 2, b: 3 } } }).jpeg().toFile(path.join(root, 'a', 'ok.jpg'));
    expect(() => scanImageFolder(root)).toThrow(/class folder .*bad\/b has no image/);
    writeFileSync(path.join(root, 'b', 'empty.JPEG'), '');
    writeFileSync(path.join(root, 'b', 'junk.jpg'), 'not an image');
    const f = scanImageFolder(root);
    expect(f.files.length).toBe(3);
    await expect(decodeEval(path.join(root, 'b', 'empty.JPEG'), 4, 1)).rejects.toThrow(/empty\.JPEG is empty \(0 bytes\)/);
    await expect(decodeEval(path.join(root, 'b', 'junk.jpg'), 4, 1)).rejects.toThrow(/junk\.jpg is not a readable image/);
    // a grey-scale PNG decodes to 3 channels
    await sharp({ create: { width: 6, height: 6, channels: 3, background: { r: 90, g: 90, b: 90 } } }).greyscale().png().toFile(path.join(root, 'a', 'grey.png'));
    const grey = await decodeEval(path.join(root, 'a', 'grey.png'), 6, 1);
    expect(grey.data.length).toBe(6 * 6 * 3);
  });

  it('sorts a flat ILSVRC val folder from LOC_val_solution.csv and from the devkit list', async () => {
    for (const form of ['csv', 'devkit'] as const) {
      const val = path.join(tmp.dir, `val-${form}`);
      mkdirSync(val, { recursive: true });
      const wnids = ['n01440764', 'n01443537'];
      const ids = [2, 1, 2];
      for (let i = 1; i <= 3; i++) writeFileSync(path.join(val, `ILSVRC2012_val_${String(i).padStart(8, '0')}.JPEG`), 'x');
      let gt: string;
      let syn: string | undefined;
      if (form === 'csv') {
        gt = path.join(tmp.dir, 'LOC_val_solution.csv');
        writeFileSync(gt, 'ImageId,PredictionString\n' + ids.map((id, i) => `ILSVRC2012_val_${String(i + 1).padStart(8, '0')},${wnids[id - 1]} 1 2 3 4 `).join('\n') + '\n');
      } else {
        gt = path.join(tmp.dir, 'ILSVRC2012_validation_ground_truth.txt');
        writeFileSync(gt, ids.join('\n') + '\n');
        syn = path.join(tmp.dir, 'synsets.txt');
        writeFileSync(syn, wnids.map((w) => `${w} some name`).join('\n'));
        expect(() => readIlsvrcValLabels(gt)).toThrow(/needs the synset list/);
      }
      expect(sortIlsvrcVal(val, gt, syn)).toBe(3);
      expect(readdirSync(path.join(val, 'n01443537')).sort()).toEqual(['ILSVRC2012_val_00000001.JPEG', 'ILSVRC2012_val_00000003.JPEG']);
      expect(existsSync(path.join(val, 'n01440764', 'ILSVRC2012_val_00000002.JPEG'))).toBe(true);
      expect(sortIlsvrcVal(val, gt, syn)).toBe(0); // idempotent
    }
  });
});

describe('decoding: plain JPEGs by the WebAssembly libjpeg-turbo, the rest by sharp, the same bytes', () => {
  it.skipIf(!cifar.present)(`real CIFAR-10 JPEGs take the WebAssembly path and give sharp's bytes ${cifar.reason}`, async () => {
    const files = scanImageFolder(path.join(cifar.path, 'train')).files.filter((_, i) => i % 25 === 0);
    for (const file of files) {
      const buf = readFileSync(file);
      expect(isPlainJpeg(buf), file).toBe(true);
      const a = await decodeFull(file);
      const b = await decodeWithSharp(file, buf);
      expect([a.width, a.height]).toEqual([b.width, b.height]);
      expect(Buffer.from(a.data).equals(Buffer.from(b.data)), file).toBe(true);
    }
  });

  it('grey and progressive JPEGs are plain (same bytes as sharp); CMYK, ICC-profiled (EXIF-rotated by sharp included) and PNG go to sharp', async () => {
    const raw = Buffer.from(Array.from({ length: 40 * 20 * 3 }, (_, i) => (i * 37) % 256));
    const base = () => sharp(raw, { raw: { width: 40, height: 20, channels: 3 } });
    const cases: [string, Buffer, boolean][] = [
      ['baseline', await base().jpeg().toBuffer(), true],
      ['grey', await base().greyscale().jpeg().toBuffer(), true],
      ['progressive', await base().jpeg({ progressive: true }).toBuffer(), true],
      // withMetadata embeds sharp's sRGB profile too: any ICC profile goes to sharp (the bytes agree either way).
      ['exif orientation 6 + profile', await base().jpeg().withMetadata({ orientation: 6 }).toBuffer(), false],
      ['cmyk', await base().toColourspace('cmyk').jpeg().toBuffer(), false],
      ['icc p3', await base().jpeg().withIccProfile('p3').toBuffer(), false],
      ['png', await base().png().toBuffer(), false],
    ];
    mkdirSync(path.join(tmp.dir, 'decode'), { recursive: true });
    for (const [name, buf, plain] of cases) {
      expect(isPlainJpeg(buf), name).toBe(plain);
      const file = path.join(tmp.dir, 'decode', `${name}.img`);
      writeFileSync(file, buf);
      const a = await decodeFull(file);
      const b = await decodeWithSharp(file, buf);
      expect([a.width, a.height, Buffer.from(a.data).equals(Buffer.from(b.data))], name).toEqual([b.width, b.height, true]);
    }
  });

  it('a JPEG cut short or with corrupt data (which libjpeg only warns about) fails as with sharp, naming the file', async () => {
    const raw = Buffer.from(Array.from({ length: 200 * 150 * 3 }, (_, i) => (i * 7919) % 251));
    const jpeg = await sharp(raw, { raw: { width: 200, height: 150, channels: 3 } }).jpeg().toBuffer();
    const cut = jpeg.subarray(0, Math.floor(jpeg.length * 0.8));
    const spliced = Buffer.concat([jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), jpeg.subarray(jpeg.length - 2)]);
    expect(isPlainJpeg(cut)).toBe(false);
    expect(isPlainJpeg(spliced)).toBe(true); // ends with the marker: the decoder's warning sends it to sharp
    mkdirSync(path.join(tmp.dir, 'corrupt'), { recursive: true });
    for (const [name, buf] of [['cut.jpg', cut], ['spliced.jpg', spliced]] as const) {
      const file = path.join(tmp.dir, 'corrupt', name);
      writeFileSync(file, buf);
      await expect(decodeFull(file)).rejects.toThrow(new RegExp(`${name.replace('.', '\\.')} is not a readable image`));
    }
    // The decoder still works after them.
    const ok = await decodeFull(path.join(tmp.dir, 'decode', 'baseline.img'));
    expect([ok.width, ok.height]).toEqual([40, 20]);
  });
});

describe.skipIf(!cifar.present)(`worker threads on the real CIFAR-10 copy ${cifar.reason}`, () => {
  it('a pool of 2 worker threads gives byte-identical training and evaluation batches to the main thread, at 224 px with the full recipe', async () => {
    const folder = scanImageFolder(path.join(cifar.path, 'train'));
    const pipeline = pipelineOf(ImagenetDataSchema.parse({ imageSize: 224 }));
    const inThread = new ImageFolderSplit(folder, pipeline, 0);
    const pooled = new ImageFolderSplit(folder, pipeline, 2);
    expect(inThread.workers).toBe(0);
    expect(pooled.workers).toBe(2);
    const idx = Int32Array.from({ length: 12 }, (_, i) => (i * 409) % 5000);
    try {
      for (const training of [true, false]) {
        for (const seed of [3, 4]) {
          const a = await inThread.batch(idx, { training, rng: new Rng(seed) });
          const b = await pooled.batch(idx, { training, rng: new Rng(seed) });
          expect(b.x.shape).toEqual([12, 224, 224, 3]);
          expect(Buffer.from((b.x.dataSync() as Float32Array).buffer).equals(Buffer.from((a.x.dataSync() as Float32Array).buffer))).toBe(true);
          expect(Array.from(b.labels.dataSync())).toEqual(Array.from(a.labels.dataSync()));
          if (training) expect(Array.from(b.targets!.dataSync())).toEqual(Array.from(a.targets!.dataSync()));
          tf.dispose([...a.tensors, ...b.tensors]);
        }
      }
    } finally {
      await pooled.close();
    }
  });

  it('Mixup/CutMix done by the threads (one pair per task) gives the main thread\'s floats and targets, odd batch included, and the flip inside the resize the flipped bytes', async () => {
    const folder = scanImageFolder(path.join(cifar.path, 'train'));
    const base = pipelineOf(ImagenetDataSchema.parse({ imageSize: 48 }));
    const idx = Int32Array.from({ length: 7 }, (_, i) => (i * 677) % 5000);
    for (const pipeline of [base, { ...base, hflipProb: 1 }, { ...base, hflipProb: 0 }]) {
      const inThread = new ImageFolderSplit(folder, pipeline, 0);
      const pooled = new ImageFolderSplit(folder, pipeline, 2);
      try {
        for (const seed of [1, 2, 3, 4, 5, 6]) {
          const a = await inThread.batch(idx, { training: true, rng: new Rng(seed) });
          const b = await pooled.batch(idx, { training: true, rng: new Rng(seed) });
          expect(Buffer.from((b.x.dataSync() as Float32Array).buffer).equals(Buffer.from((a.x.dataSync() as Float32Array).buffer)), `seed ${seed}`).toBe(true);
          expect(Array.from(b.targets!.dataSync())).toEqual(Array.from(a.targets!.dataSync()));
          tf.dispose([...a.tensors, ...b.tensors]);
        }
      } finally {
        await pooled.close();
      }
    }
    // Flipped in the resize = flipped after it: the same crop with the coin forced either way.
    const file = folder.files[3]!;
    const rngFor = () => new Rng(11);
    const plain = await decodeRandomResizedCrop(file, 224, rngFor(), [0.08, 1], [3 / 4, 4 / 3], 0);
    const flipped = await decodeRandomResizedCrop(file, 224, rngFor(), [0.08, 1], [3 / 4, 4 / 3], 1);
    expect(Buffer.from(flipped.data).equals(Buffer.from(hflip(plain).data))).toBe(true);
  });

  it('an unreadable file fails the batch with an error naming it; close() ends the threads and a later batch starts new ones', async () => {
    const dir = path.join(tmp.dir, 'bad-pool');
    mkdirSync(path.join(dir, 'a'), { recursive: true });
    writeFileSync(path.join(dir, 'a', 'good.png'), await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 9, g: 99, b: 199 } } }).png().toBuffer());
    writeFileSync(path.join(dir, 'a', 'zbroken.jpg'), 'not a jpeg at all');
    const split = new ImageFolderSplit(scanImageFolder(dir), pipelineOf(ImagenetDataSchema.parse({ imageSize: 16 })), 1);
    const ok = await split.batch(Int32Array.from([0]), { training: true, rng: new Rng(1) });
    tf.dispose(ok.tensors);
    await expect(split.batch(Int32Array.from([0, 1]), { training: true, rng: new Rng(1) })).rejects.toThrow(/zbroken\.jpg is not a readable image/);
    await split.close();
    const again = await split.batch(Int32Array.from([0]), { training: false, rng: new Rng(1) });
    expect(again.x.shape).toEqual([1, 16, 16, 3]);
    // An evaluation split on the same threads: one pool, closed by either.
    const evalSplit = new ImageFolderSplit(scanImageFolder(dir), split.pipeline, 1, Int32Array.from([0]), split);
    const e = await evalSplit.batch(Int32Array.from([0]), { training: false, rng: new Rng(1) });
    expect(Array.from(e.x.dataSync())).toEqual(Array.from(again.x.dataSync()));
    tf.dispose([...e.tensors, ...again.tensors]);
    expect(() => new ImageFolderSplit(scanImageFolder(dir), split.pipeline, 2, null, split)).toThrow(/2 worker threads cannot share those of a split with 1/);
    await evalSplit.close();
    await split.close();
  });
});

// PIL itself, when a Python with Pillow is on this machine (outside CI it usually is): the
// reference of the resampling the original's pipeline (timm/torchvision on PIL images) does.
const python = ['python3', '/usr/bin/python3'].find((py) => spawnSync(py, ['-c', 'import PIL.Image'], { stdio: 'ignore' }).status === 0);
const PIL_RESIZE = `
import base64, json, sys
from PIL import Image
out = []
for c in json.load(sys.stdin):
    im = Image.frombytes('RGB', (c['w'], c['h']), base64.b64decode(c['data']))
    b = c['box']
    out.append(base64.b64encode(im.crop((b['left'], b['top'], b['left'] + b['width'], b['top'] + b['height'])).resize((c['ow'], c['oh']), Image.BICUBIC).tobytes()).decode())
print(json.dumps(out))
`;

describe.skipIf(!python || !cifar.present)(`bicubic crop and resize against PIL ${!python ? '(skipped: no python3 with Pillow)' : cifar.reason}`, () => {
  it("cropResizeBicubic gives PIL's bytes: up-sampling a real CIFAR-10 image to 224, down-sampling (antialiased) and mixed", async () => {
    const real = await decodeFull(path.join(cifar.path, 'train/horse/0042.jpg'));
    const rng = new Rng(4);
    const noise: RgbImage = { width: 300, height: 200, data: Uint8ClampedArray.from({ length: 300 * 200 * 3 }, () => rng.int(256)) };
    const cases: [RgbImage, { left: number; top: number; width: number; height: number }, number, number][] = [
      [real, { left: 0, top: 0, width: 32, height: 32 }, 224, 224],
      [real, { left: 3, top: 2, width: 20, height: 25 }, 224, 224],
      [real, { left: 5, top: 7, width: 13, height: 9 }, 224, 224],
      [real, { left: 0, top: 0, width: 32, height: 32 }, 32, 256],
      [noise, { left: 0, top: 0, width: 300, height: 200 }, 64, 48],
      [noise, { left: 17, top: 11, width: 201, height: 150 }, 224, 224],
      [noise, { left: 0, top: 0, width: 300, height: 200 }, 341, 227],
    ];
    const r = spawnSync(python!, ['-c', PIL_RESIZE], {
      input: JSON.stringify(cases.map(([im, box, ow, oh]) => ({ w: im.width, h: im.height, data: Buffer.from(im.data).toString('base64'), box, ow, oh }))),
      maxBuffer: 64 * 2 ** 20,
    });
    expect(r.status, String(r.stderr)).toBe(0);
    const want = JSON.parse(String(r.stdout)) as string[];
    cases.forEach(([im, box, ow, oh], i) => {
      const got = cropResizeBicubic(im, box, ow, oh);
      expect([got.width, got.height]).toEqual([ow, oh]);
      expect(Buffer.from(got.data).equals(Buffer.from(want[i]!, 'base64')), `case ${i}`).toBe(true);
    });
  });
});
