import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '@flowformer/core';
import { drawPathfinder, PATHFINDER_CONTOUR_LENGTH, writePathfinder } from '../src/data/pathfinder-gen.ts';
import { readPathfinder, readPathfinderCached, readPathfinderMetadata, splitPathfinder } from '../src/data/pathfinder.ts';
import { tempDir } from './helpers.ts';

const tmp = tempDir();
afterAll(tmp.cleanup);

const dist = (a: { y: number; x: number }, b: { y: number; x: number }) => Math.hypot(a.y - b.y, a.x - b.x);

describe('Pathfinder generator (published rules, LRA 32x32 hard)', () => {
  const rng = new Rng(11);
  const images = Array.from({ length: 60 }, () => drawPathfinder(rng));

  it('draws two target contours of 14 paddles, distractors of 4, markers at target ends', () => {
    for (const im of images) {
      expect(im.pixels.length).toBe(32 * 32);
      const targets = im.contours.filter((c) => c.kind === 'target');
      const distractors = im.contours.filter((c) => c.kind === 'distractor');
      expect(targets.length).toBe(2);
      for (const t of targets) expect(t.segments.length).toBe(14);
      expect(distractors.length).toBeLessThanOrEqual(5);
      for (const d of distractors) expect(d.segments.length).toBe(4);
      // Marker 1 at the start of the origin contour, marker 2 at the end of the terminal one.
      expect(im.markers[0]).toEqual(im.contours[im.originContour]!.segments[0]!.a);
      expect(im.markers[1]).toEqual(im.contours[im.terminalContour]!.segments.at(-1)!.b);
      // Label 1 exactly when both markers lie on one contour.
      expect(im.label).toBe(im.originContour === im.terminalContour ? 1 : 0);
      // The markers are drawn: the pixel under each marker is bright.
      for (const m of im.markers) expect(im.pixels[Math.round(m.y) * 32 + Math.round(m.x)]!).toBeGreaterThan(200);
      // Paddles stay inside the image.
      for (const c of im.contours) for (const s of c.segments) for (const p of [s.a, s.b]) {
        expect(p.y).toBeGreaterThanOrEqual(0);
        expect(p.x).toBeLessThanOrEqual(31);
      }
    }
    const positives = images.filter((im) => im.label === 1).length;
    expect(positives).toBeGreaterThan(15);
    expect(positives).toBeLessThan(45);
  });

  it('grows contours with the smoothness prior: paddles of length 2, gaps of 2 margins, turns below 90 degrees', () => {
    let turns = 0;
    let sharp = 0;
    let n = 0;
    for (const im of images) {
      for (const c of im.contours) {
        for (let i = 0; i < c.segments.length; i++) {
          const s = c.segments[i]!;
          expect(dist(s.a, s.b)).toBeCloseTo(2, 6);
          if (i === 0) continue;
          const p = c.segments[i - 1]!;
          // The new paddle starts about 2 margins (2 px) past the end of the previous one
          // (plus up to half a pixel diagonal, as end points are rounded to pixel centres).
          expect(dist(p.b, s.a)).toBeLessThanOrEqual(2 + Math.SQRT1_2 + 1e-9);
          const t0 = Math.atan2(p.b.y - p.a.y, p.b.x - p.a.x);
          const t1 = Math.atan2(s.b.y - s.a.y, s.b.x - s.a.x);
          let d = Math.abs(t1 - t0);
          d = Math.min(d, 2 * Math.PI - d);
          turns += d;
          if (d > (110 * Math.PI) / 180) sharp++;
          n++;
        }
      }
    }
    // continuity 1: turn weights cos^2(turn) give a mean |turn| of 0.47 rad on a continuous
    // circle (pi/2 without the prior), and vanish at 90 degrees; pixel rounding of the end
    // points widens both a little.
    expect(turns / n).toBeLessThan(0.7);
    expect(sharp).toBe(0);
  });

  it('easy (contour length 6, as curv_baseline): targets of 6 paddles, distractors of 2, markers at target ends, balanced labels', () => {
    const r = new Rng(12);
    const easy = Array.from({ length: 200 }, () => drawPathfinder(r, { contourLength: PATHFINDER_CONTOUR_LENGTH.easy }));
    for (const im of easy) {
      const targets = im.contours.filter((c) => c.kind === 'target');
      const distractors = im.contours.filter((c) => c.kind === 'distractor');
      for (const t of targets) expect(t.segments.length).toBe(6);
      expect(distractors.length).toBeLessThanOrEqual(10); // floor(20 / 2)
      for (const d of distractors) expect(d.segments.length).toBe(2);
      expect(im.markers[0]).toEqual(im.contours[im.originContour]!.segments[0]!.a);
      expect(im.markers[1]).toEqual(im.contours[im.terminalContour]!.segments.at(-1)!.b);
      expect(im.label).toBe(im.originContour === im.terminalContour ? 1 : 0);
      for (const m of im.markers) expect(im.pixels[Math.round(m.y) * 32 + Math.round(m.x)]!).toBeGreaterThan(200);
    }
    // Labels ~ Bernoulli(0.5): 200 draws stay within 4 standard deviations (~28) of 100.
    const positives = easy.filter((im) => im.label === 1).length;
    expect(Math.abs(positives - 100)).toBeLessThan(28);
  });

  it('writes the release layout and the reader gets the same pixels and labels back, split 80/10/10', async () => {
    const root = path.join(tmp.dir, 'pathfinder32');
    const cond = await writePathfinder(new Rng(5), { root, count: 30, batchSize: 12, difficulty: 'hard' });
    expect(path.basename(cond)).toBe('curv_contour_length_14');
    const meta = readFileSync(path.join(cond, 'metadata', '0.npy'), 'utf8').split('\n');
    expect(meta.length).toBe(13); // 12 rows and the final newline
    expect(meta[0]!.split(' ').slice(0, 4)).toEqual(['imgs/0', 'sample_0.png', '0', meta[0]!.split(' ')[3]]);
    expect(meta[0]!.split(' ').slice(5, 8)).toEqual(['14', '4', '2']);
    const entries = readPathfinderMetadata(cond);
    expect(entries.length).toBe(30);
    expect(entries[12]!.file).toBe(path.join(cond, 'imgs', '1', 'sample_0.png'));
    const x = await readPathfinder(cond, 32);
    expect(x.count).toBe(30);
    // Same stream, same images: the PNGs hold exactly the generated pixels.
    const again = new Rng(5);
    const first = drawPathfinder(again, { contourLength: 14 });
    expect(Array.from(x.pixels.subarray(0, 1024))).toEqual(Array.from(first.pixels));
    expect(x.labels[0]).toBe(first.label);
    const s = splitPathfinder(x);
    expect([s.train.count, s.val.count, s.test.count]).toEqual([24, 3, 3]);
    // The decode cache returns the same images, and serves them without the PNGs.
    const cache = path.join(tmp.dir, 'cache');
    const c1 = await readPathfinderCached(cond, 32, cache);
    rmSync(path.join(cond, 'imgs', '0', 'sample_3.png'));
    const c2 = await readPathfinderCached(cond, 32, cache);
    expect(Array.from(c2.labels)).toEqual(Array.from(x.labels));
    expect(Buffer.from(c2.pixels).equals(Buffer.from(x.pixels))).toBe(true);
    expect(c1.count).toBe(30);
    await expect(readPathfinder(cond, 32)).rejects.toThrow(/0\.npy:4: image .*sample_3\.png does not exist/);
    // Empty images are skipped as LRA does; bad rows name the metadata file and line.
    writeFileSync(path.join(cond, 'imgs', '0', 'sample_3.png'), readFileSync(path.join(cond, 'imgs', '0', 'sample_2.png')));
    writeFileSync(path.join(cond, 'imgs', '2', 'sample_1.png'), '');
    expect((await readPathfinder(cond, 32)).skipped).toBe(1);
    mkdirSync(path.join(tmp.dir, 'bad', 'metadata'), { recursive: true });
    writeFileSync(path.join(tmp.dir, 'bad', 'metadata', '0.npy'), 'imgs/0 sample_0.png 0 1 1.0\nimgs/0 sample_1.png 1 maybe\n');
    expect(() => readPathfinderMetadata(path.join(tmp.dir, 'bad'))).toThrow(/0\.npy:2: label \(4th field\) must be 0 or 1, found 'maybe'/);
    await expect(readPathfinder(path.join(tmp.dir, 'nothing'))).rejects.toThrow(/flowformer data generate --task lra --dataset pathfinder/);
  });
});
