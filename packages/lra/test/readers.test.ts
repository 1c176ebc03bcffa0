import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '@flowformer/core';
import { decodeBytes, encodeBytes } from '../src/data/bytes.ts';
import { DataFormatError, MissingDataError } from '../src/data/errors.ts';
import { readImdbSplit } from '../src/data/text.ts';
import { formatAanTsv, readAanSplit } from '../src/data/retrieval.ts';
import { CIFAR_RECORD_BYTES, grayscaleTf, readCifarBinary, readImageFolder, splitTrainVal } from '../src/data/image.ts';
import { shared, tempDir } from './helpers.ts';

const tmp = tempDir();
afterAll(tmp.cleanup);

describe('byte-level encoding', () => {
  it('maps UTF-8 bytes to byte + 1, pads with 0, truncates', () => {
    expect(Array.from(encodeBytes('Ab', 4))).toEqual([66, 99, 0, 0]);
    expect(Array.from(encodeBytes('é', 3))).toEqual([0xc3 + 1, 0xa9 + 1, 0]); // two UTF-8 bytes
    expect(Array.from(encodeBytes('abcdef', 3))).toEqual([98, 99, 100]);
    expect(decodeBytes(encodeBytes('héllo', 10))).toBe('héllo');
    expect(Math.max(...encodeBytes(new Uint8Array([255]), 1))).toBe(256); // vocabulary 257
  });
});

describe('IMDB (aclImdb folders)', () => {
  const root = path.join(tmp.dir, 'aclImdb');
  const write = (split: string, cls: string, name: string, text: string) => {
    mkdirSync(path.join(root, split, cls), { recursive: true });
    writeFileSync(path.join(root, split, cls, name), text);
  };
  write('train', 'pos', '10_9.txt', 'A wonderful film.<br /><br />Loved it.');
  write('train', 'pos', '2_8.txt', 'Great');
  write('train', 'neg', '0_1.txt', 'Terrible, “awful”.');
  write('test', 'pos', '0_10.txt', 'fine');
  write('test', 'neg', '0_2.txt', 'bad');
  mkdirSync(path.join(root, 'train', 'unsup'), { recursive: true });
  writeFileSync(path.join(root, 'train', 'unsup', '0_0.txt'), 'unlabelled, ignored');

  it('reads neg (0) then pos (1) sorted by review id, truncated to the byte length', () => {
    const d = readImdbSplit(root, 'train', 8);
    expect(Array.from(d.labels)).toEqual([0, 1, 1]);
    expect(d.files.map((f) => path.basename(f))).toEqual(['0_1.txt', '2_8.txt', '10_9.txt']);
    expect(Buffer.from(d.docs[2]!).toString()).toBe('A wonder');
    expect(d.docs[0]!.length).toBe(8); // bytes, not characters: the curly quote is 3 bytes
    expect(readImdbSplit(root, 'test', 1000).labels.length).toBe(2);
  });

  it('names the file of an empty review and says how to get a missing folder', () => {
    write('test', 'neg', '5_3.txt', '');
    expect(() => readImdbSplit(root, 'test', 100)).toThrow(/5_3\.txt:1: empty review/);
    expect(() => readImdbSplit(path.join(tmp.dir, 'nowhere'), 'train', 100)).toThrow(MissingDataError);
    expect(() => readImdbSplit(path.join(tmp.dir, 'nowhere'), 'train', 100)).toThrow(/aclImdb_v1\.tar\.gz/);
  });
});

describe('AAN retrieval pairs', () => {
  const dir = path.join(tmp.dir, 'tsv_data');
  mkdirSync(dir, { recursive: true });
  it('reads the five columns (no header, quotes are data), byte-level, each document truncated', async () => {
    writeFileSync(
      path.join(dir, 'new_aan_pairs.train.tsv'),
      formatAanTsv([
        { label: 1, id1: 'P01-1001', id2: 'P02-2002', text1: 'He said "no" to', text2: 'short' },
        { label: 0, id1: 'P01-1003', id2: 'P02-2004', text1: 'x', text2: 'a much longer second document' },
      ]),
    );
    const d = await readAanSplit(dir, 'train', 10);
    expect(Array.from(d.labels)).toEqual([1, 0]);
    expect(Buffer.from(d.docs1[0]!).toString()).toBe('He said "n');
    expect(Buffer.from(d.docs2[0]!).toString()).toBe('short');
    expect(d.docs2[1]!.length).toBe(10);
  });

  it('accepts float labels and CRLF; fails on a bad line with file, line and reason', async () => {
    writeFileSync(path.join(dir, 'new_aan_pairs.eval.tsv'), '1.0\ta\tb\tt1\tt2\r\n0.0\tc\td\tt3\tt4\r\n');
    const d = await readAanSplit(dir, 'eval', 4000);
    expect(Array.from(d.labels)).toEqual([1, 0]);
    expect(Buffer.from(d.docs2[1]!).toString()).toBe('t4');
    writeFileSync(path.join(dir, 'new_aan_pairs.test.tsv'), '1\ta\tb\tt1\tt2\n0\tc\td\tt3\n');
    await expect(readAanSplit(dir, 'test', 10)).rejects.toThrow(/new_aan_pairs\.test\.tsv:2: expected 5 TAB-separated fields .* found 4/);
    writeFileSync(path.join(dir, 'new_aan_pairs.test.tsv'), 'yes\ta\tb\tt1\tt2\n');
    await expect(readAanSplit(dir, 'test', 10)).rejects.toThrow(/test\.tsv:1: label must be 0 or 1, found 'yes'/);
  });
});

describe('CIFAR-10 grayscale (LRA Image)', () => {
  it("uses TensorFlow's rgb_to_grayscale: float32 weights 0.2989/0.5870/0.1140, scale 255.5, truncation", () => {
    expect(grayscaleTf(0, 0, 0)).toBe(0);
    expect(grayscaleTf(255, 255, 255)).toBe(255);
    expect(grayscaleTf(255, 0, 0)).toBe(76); // 0.2989 * 255.5 = 76.37
    expect(grayscaleTf(0, 255, 0)).toBe(149); // 149.98
    expect(grayscaleTf(0, 0, 255)).toBe(29); // 29.13
    // Against the float64 formula over a grid (equal except where float32 rounding straddles an integer).
    let diff = 0;
    for (let r = 0; r < 256; r += 5) for (let g = 0; g < 256; g += 7) for (let b = 0; b < 256; b += 11) {
      const ref = Math.trunc(((0.2989 * r + 0.587 * g + 0.114 * b) / 255) * 255.5);
      diff = Math.max(diff, Math.abs(grayscaleTf(r, g, b) - ref));
    }
    expect(diff).toBeLessThanOrEqual(1);
  });

  it('reads binary batches (label byte + planar RGB) and splits 90/10 in file order', () => {
    const n = 20;
    const b = Buffer.alloc(n * CIFAR_RECORD_BYTES);
    for (let r = 0; r < n; r++) {
      b[r * CIFAR_RECORD_BYTES] = r % 10;
      b.fill(255, r * CIFAR_RECORD_BYTES + 1, r * CIFAR_RECORD_BYTES + 1 + 1024); // red plane only
      b[r * CIFAR_RECORD_BYTES + 1 + 2048 + 5] = 255; // pixel 5 also blue
    }
    const f = path.join(tmp.dir, 'data_batch_1.bin');
    writeFileSync(f, b);
    const x = readCifarBinary([f]);
    expect(x.count).toBe(n);
    expect(Array.from(x.labels.slice(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(x.pixels[0]).toBe(76);
    expect(x.pixels[5]).toBe(grayscaleTf(255, 0, 255));
    const s = splitTrainVal(x);
    expect(s.train.count).toBe(18);
    expect(Array.from(s.val.labels)).toEqual([8, 9]);
    // Truncated file and bad label.
    writeFileSync(f, b.subarray(0, 5000));
    expect(() => readCifarBinary([f])).toThrow(/data_batch_1\.bin: size 5000 bytes is not a positive multiple of 3073/);
    b[CIFAR_RECORD_BYTES * 3] = 12;
    writeFileSync(f, b);
    expect(() => readCifarBinary([f])).toThrow(/record 3 .* label 12/);
    expect(() => readCifarBinary([path.join(tmp.dir, 'missing.bin')])).toThrow(/cifar-10-binary\.tar\.gz/);
  });

  const cifar = shared('cifar10/train');
  it.skipIf(!cifar.present)(`decodes the real CIFAR-10 image folders with sharp ${cifar.reason}`, async () => {
    const x = await readImageFolder(cifar.path, 32, 32);
    expect(x.classes).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    expect(x.count).toBe(5000);
    expect(x.pixels.length).toBe(5000 * 1024);
    const counts = new Array(10).fill(0);
    for (const l of x.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(500));
    // Real photographs: a wide range of gray levels and a mean near the middle.
    let sum = 0;
    let min = 255;
    let max = 0;
    for (const v of x.pixels) {
      sum += v;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(0);
    expect(max).toBe(255);
    expect(sum / x.pixels.length).toBeGreaterThan(90);
    expect(sum / x.pixels.length).toBeLessThan(150);
    // A class-sorted folder must be shuffled before the 90/10 split: both parts hold every class.
    const s = splitTrainVal(x, 0.9, 0);
    expect(s.train.count).toBe(4500);
    expect(new Set(s.val.labels).size).toBe(10);
    // A bad image names its file.
    const badDir = path.join(tmp.dir, 'badimg', 'cat');
    mkdirSync(badDir, { recursive: true });
    writeFileSync(path.join(badDir, '0001.png'), 'not a png');
    await expect(readImageFolder(path.dirname(badDir))).rejects.toThrow(/0001\.png: cannot decode the image/);
  });
});
