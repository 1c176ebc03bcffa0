/**
 * A Pathfinder generator following the published rules (Linsley et al. 2018, "Learning long-
 * range spatial dependencies with horizontal gated recurrent units"; Kim, Linsley et al.
 * 2020), with the parameters LRA used for its 32x32 images. Our own implementation of the
 * procedure, not a port; where we simplify, the comment says so.
 *
 * An image holds:
 * - two target contours ("snakes"), each a chain of `contourLength` short line segments
 *   ("paddles") grown from two seeds `seedDistance` apart. Each new paddle starts a small gap
 *   past the end of the previous one, and its direction is drawn with a smoothness prior:
 *   candidate end points on a circle around the pivot are weighted by
 *   cos(min(continuity * |turn|, pi/2))^2, so sharp turns are unlikely and turns past 90
 *   degrees / continuity impossible. Paddles may not touch paddles already placed (a margin
 *   around each is reserved);
 * - `numDistractors` shorter distractor contours (`distractorLength` paddles) grown the same
 *   way wherever there is room;
 * - two circular markers: one at the start of one target contour, one at the end of either
 *   the same contour (label 1, "connected") or the other one (label 0).
 *
 * Rendering: paddles and markers are rasterised with `supersample`^2 samples per pixel (the
 * original draws at 2x and downsamples with Lanczos); paddle intensity is `contrast` times
 * coverage (LRA: snake contrast 2 x paddle contrast 0.75), markers 1, the image is the
 * pixel-wise maximum, clipped to [0, 1] and stored as 8-bit gray.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Rng } from '@flowformer/core';
import { mapLimit } from './image.ts';
import { PATHFINDER_CONDITIONS, type PathfinderDifficulty } from './pathfinder.ts';

export interface PathfinderArgs {
  /** Image side in pixels. Default 32. */
  size?: number;
  /** Pixels along the border that stay empty. Default 1. */
  padding?: number;
  /** Paddles per target contour: 6 easy, 9 intermediate, 14 hard. Default 14. */
  contourLength?: number;
  /** Paddles per distractor contour. Default floor(contourLength / 3). */
  distractorLength?: number;
  /** Number of distractor contours. Default floor(20 / distractorLength). */
  numDistractors?: number;
  /** Paddle length in pixels. Default 2. */
  paddleLength?: number;
  /** Paddle line width in pixels. Default 0.5. */
  paddleThickness?: number;
  /** Free space kept around paddles, and the gap between consecutive paddles is 2 x this. Default 1. */
  paddleMargin?: number;
  /** Marker radius in pixels. Default 1.5. */
  markerRadius?: number;
  /** Distance between the two target seeds. Default 7. */
  seedDistance?: number;
  /** Smoothness: the turn angle is multiplied by this before the cosine weighting. Default 1.0. */
  continuity?: number;
  /** Paddle intensity factor before clipping. Default 1.5 (= 2 x 0.75 in LRA). */
  contrast?: number;
  /** Samples per pixel side when rasterising. Default 4. */
  supersample?: number;
  /** Redraws of one paddle before its contour fails. Default 2 (the original's max_paddle_retrial). */
  maxPaddleTrials?: number;
  /** Redraws of one distractor contour before it is left out. Default 4. */
  maxDistractorTrials?: number;
}

type Req = Required<PathfinderArgs>;

export function pathfinderDefaults(args: PathfinderArgs = {}): Req {
  const contourLength = args.contourLength ?? 14;
  const distractorLength = args.distractorLength ?? Math.max(1, Math.floor(contourLength / 3));
  const a: Req = {
    size: args.size ?? 32,
    padding: args.padding ?? 1,
    contourLength,
    distractorLength,
    numDistractors: args.numDistractors ?? Math.floor(20 / distractorLength),
    paddleLength: args.paddleLength ?? 2,
    paddleThickness: args.paddleThickness ?? 0.5,
    paddleMargin: args.paddleMargin ?? 1,
    markerRadius: args.markerRadius ?? 1.5,
    seedDistance: args.seedDistance ?? 7,
    continuity: args.continuity ?? 1.0,
    contrast: args.contrast ?? 1.5,
    supersample: args.supersample ?? 4,
    maxPaddleTrials: args.maxPaddleTrials ?? 2,
    maxDistractorTrials: args.maxDistractorTrials ?? 4,
  };
  for (const [k, v] of Object.entries(a)) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`pathfinder generator: '${k}' must be a finite number >= 0, got ${v}`);
  }
  if (a.contourLength < 1 || !Number.isInteger(a.contourLength)) throw new Error(`pathfinder generator: contourLength must be a positive integer, got ${a.contourLength}`);
  if (a.size < 4 * a.seedDistance) throw new Error(`pathfinder generator: size ${a.size} is too small for seedDistance ${a.seedDistance} (need size >= 4 x seedDistance)`);
  return a;
}

/** A point in pixel coordinates: y = row, x = column; pixel (r, c) has its centre at (r, c). */
interface Pt {
  y: number;
  x: number;
}

interface Segment {
  a: Pt;
  b: Pt;
}

/** One contour as placed: its paddles, in growth order. */
export interface Contour {
  segments: Segment[];
  kind: 'target' | 'distractor';
}

export interface PathfinderImage {
  /** size*size gray values 0-255, row-major. */
  pixels: Uint8Array;
  label: 0 | 1;
  /** The two target contours, then the distractors (for tests and inspection). */
  contours: Contour[];
  /** Marker centres: [start of target `originContour`, end of target `terminalContour`]. */
  markers: [Pt, Pt];
  originContour: number;
  terminalContour: number;
}

function distToSegment(py: number, px: number, s: Segment): number {
  const dy = s.b.y - s.a.y;
  const dx = s.b.x - s.a.x;
  const len2 = dy * dy + dx * dx;
  let t = len2 > 0 ? ((py - s.a.y) * dy + (px - s.a.x) * dx) / len2 : 0;
  t = Math.max(0, Math.min(1, t));
  const qy = s.a.y + t * dy - py;
  const qx = s.a.x + t * dx - px;
  return Math.sqrt(qy * qy + qx * qx);
}

/** Indices of pixels whose centre lies within `radius` of the segment. */
function pixelsNear(s: Segment, radius: number, size: number): number[] {
  const out: number[] = [];
  const y0 = Math.max(0, Math.floor(Math.min(s.a.y, s.b.y) - radius));
  const y1 = Math.min(size - 1, Math.ceil(Math.max(s.a.y, s.b.y) + radius));
  const x0 = Math.max(0, Math.floor(Math.min(s.a.x, s.b.x) - radius));
  const x1 = Math.min(size - 1, Math.ceil(Math.max(s.a.x, s.b.x) + radius));
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (distToSegment(y, x, s) <= radius) out.push(y * size + x);
  return out;
}

/** The canvas while an image is built: reserved pixels and the contours placed so far. */
class Canvas {
  readonly occ: Uint8Array;
  constructor(readonly a: Req) {
    this.occ = new Uint8Array(a.size * a.size);
    const { size, padding } = a;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) if (y < padding || x < padding || y >= size - padding || x >= size - padding) this.occ[y * size + x] = 1;
  }
  clone(): Canvas {
    const c = new Canvas(this.a);
    c.occ.set(this.occ);
    return c;
  }
  /** The reserved footprint of a paddle: pixels within the margin of its line. */
  footprint(s: Segment): number[] {
    return pixelsNear(s, this.a.paddleMargin + this.a.paddleThickness / 2, this.a.size);
  }
  free(s: Segment): boolean {
    return this.footprint(s).every((i) => this.occ[i] === 0);
  }
  reserve(s: Segment): void {
    for (const i of this.footprint(s)) this.occ[i] = 1;
  }
  inside(p: Pt): boolean {
    return p.y >= 0 && p.x >= 0 && p.y <= this.a.size - 1 && p.x <= this.a.size - 1;
  }
  /** Whether any reserved pixel lies within the margin of pixel p (the original's dilated mask). */
  nearReserved(p: Pt): boolean {
    const m = this.a.paddleMargin;
    const { size } = this.a;
    for (let y = Math.max(0, Math.floor(p.y - m)); y <= Math.min(size - 1, Math.ceil(p.y + m)); y++)
      for (let x = Math.max(0, Math.floor(p.x - m)); x <= Math.min(size - 1, Math.ceil(p.x + m)); x++)
        if ((y - p.y) ** 2 + (x - p.x) ** 2 <= m * m && this.occ[y * size + x]) return true;
    return false;
  }
}

const step = (p: Pt, theta: number, d: number): Pt => ({ y: p.y + d * Math.sin(theta), x: p.x + d * Math.cos(theta) });

/** A contour being grown: its paddles, the current pivot and direction. */
interface Growing {
  segments: Segment[];
  pivot: Pt;
  theta: number;
}

/** A random direction in whole degrees in [-180, 180), as the original samples it. */
const randomTheta = (rng: Rng) => ((rng.int(360) - 180) * Math.PI) / 180;

/** Starts a contour with its first paddle from `tail` in direction `theta`. */
function startContour(tail: Pt, theta: number, a: Req): Growing {
  const head = step(tail, theta, a.paddleLength);
  return { segments: [{ a: tail, b: head }], pivot: head, theta };
}

/**
 * Adds one paddle with the smoothness prior. The next paddle begins `2 * margin` past the end
 * of the last one: its end point is drawn among the pixels on a circle of radius
 * `length + margin` around the point `margin` past the last end, weighted by
 * cos(min(continuity |turn|, pi/2))^2 and excluding end points near reserved pixels.
 * The previous paddle is reserved only now (so that consecutive paddles may come close).
 */
function extendContour(g: Growing, cv: Canvas, rng: Rng): boolean {
  const a = cv.a;
  const L = a.paddleLength;
  const m = a.paddleMargin;
  const centre = step(g.pivot, g.theta, m);
  const R = L + m;
  // Candidate end points: one sample per pixel of arc, rounded to pixel centres, unique.
  const nSamples = Math.max(8, Math.ceil(2 * Math.PI * R));
  const seen = new Set<number>();
  const cand: { p: Pt; theta: number; w: number }[] = [];
  for (let k = 0; k < nSamples; k++) {
    const phi = (2 * Math.PI * k) / nSamples;
    const p = { y: Math.round(centre.y + R * Math.sin(phi)), x: Math.round(centre.x + R * Math.cos(phi)) };
    if (!cv.inside(p)) continue;
    const key = p.y * a.size + p.x;
    if (seen.has(key)) continue;
    seen.add(key);
    const theta = Math.atan2(p.y - centre.y, p.x - centre.x);
    let turn = Math.abs(theta - g.theta);
    turn = Math.min(turn, 2 * Math.PI - turn);
    const w = Math.cos(Math.min(turn * a.continuity, Math.PI / 2)) ** 2 * (cv.nearReserved(p) ? 0 : 1);
    if (w > 1e-9) cand.push({ p, theta, w });
  }
  const total = cand.reduce((s, c) => s + c.w, 0);
  if (total < 1e-4) return false; // dead end
  for (let trial = 0; trial <= a.maxPaddleTrials; trial++) {
    let r = rng.next() * total;
    let pick = cand[cand.length - 1]!;
    for (const c of cand) {
      r -= c.w;
      if (r < 0) {
        pick = c;
        break;
      }
    }
    // The paddle runs from `length` before the end point up to it, along the drawn direction.
    const seg: Segment = { a: step(pick.p, pick.theta, -L), b: pick.p };
    if (!cv.inside(seg.a) || !cv.free(seg)) continue;
    cv.reserve(g.segments[g.segments.length - 1]!);
    g.segments.push(seg);
    g.pivot = pick.p;
    g.theta = pick.theta;
    return true;
  }
  return false;
}

/** Grows the two target contours; undefined when a paddle cannot be placed (the caller redraws). */
function twoTargets(rng: Rng, a: Req): { cv: Canvas; targets: [Growing, Growing] } | undefined {
  const cv = new Canvas(a);
  // First seed: away from the border by twice the seed distance, as the original.
  const lo = 2 * a.seedDistance;
  const hi = a.size - 2 * a.seedDistance;
  const theta1 = randomTheta(rng);
  const tail1 = { y: lo + rng.int(hi - lo), x: lo + rng.int(hi - lo) };
  const g1 = startContour(tail1, theta1, a);
  // Second seed: `seedDistance` away from the first, in a random direction.
  const phi = (rng.int(360) * Math.PI) / 180;
  const tail2 = { y: Math.round(tail1.y + a.seedDistance * Math.sin(phi)), x: Math.round(tail1.x + a.seedDistance * Math.cos(phi)) };
  const g2 = startContour(tail2, randomTheta(rng), a);
  for (const g of [g1, g2]) {
    const s = g.segments[0]!;
    if (!cv.inside(s.b) || !cv.free(s)) return undefined;
  }
  // Grow both in turns; each extension reserves the contour's previous paddle.
  for (let i = 1; i < a.contourLength; i++) {
    for (const g of [g1, g2]) if (!extendContour(g, cv, rng)) return undefined;
  }
  // Reserve every target paddle (the last ones are not yet) before distractors are placed.
  for (const g of [g1, g2]) for (const s of g.segments) cv.reserve(s);
  return { cv, targets: [g1, g2] };
}

/** One distractor contour on a copy of the canvas; the copy replaces the canvas on success. */
function distractor(cv: Canvas, rng: Rng, a: Req): Canvas | undefined {
  const free: number[] = [];
  for (let i = 0; i < cv.occ.length; i++) if (!cv.occ[i]) free.push(i);
  if (free.length < 0.01 * cv.occ.length) return undefined; // the original stops below 1% free
  const c = cv.clone();
  const i = free[rng.int(free.length)]!;
  const tail = { y: Math.floor(i / a.size), x: i % a.size };
  const g = startContour(tail, randomTheta(rng), a);
  const s0 = g.segments[0]!;
  if (!c.inside(s0.b) || !c.free(s0)) return undefined;
  for (let k = 1; k < a.distractorLength; k++) if (!extendContour(g, c, rng)) return undefined;
  for (const s of g.segments) c.reserve(s);
  (c as Canvas & { last?: Growing }).last = g;
  return c;
}

/** Draws one labelled image (label ~ Bernoulli(0.5)). */
export function drawPathfinder(rng: Rng, args: PathfinderArgs = {}): PathfinderImage {
  const a = pathfinderDefaults(args);
  const label = rng.int(2) as 0 | 1;
  let placed: { cv: Canvas; targets: [Growing, Growing] } | undefined;
  for (let attempt = 0; !placed; attempt++) {
    if (attempt > 10_000) throw new Error('pathfinder generator: 10,000 failed attempts to place the two target contours; the parameters leave no room (reduce contourLength or paddleMargin)');
    placed = twoTargets(rng, a);
  }
  let cv = placed.cv;
  const contours: Contour[] = placed.targets.map((g) => ({ segments: g.segments, kind: 'target' as const }));
  for (let d = 0; d < a.numDistractors; d++) {
    for (let trial = 0; trial <= a.maxDistractorTrials; trial++) {
      const next = distractor(cv, rng, a);
      if (next) {
        contours.push({ segments: (next as Canvas & { last?: Growing }).last!.segments, kind: 'distractor' });
        cv = next;
        break;
      }
    }
  }
  // Markers: the start of one target contour, and the end of the same one (label 1) or the other (0).
  const originContour = rng.int(2);
  const terminalContour = label === 1 ? originContour : 1 - originContour;
  const markers: [Pt, Pt] = [contours[originContour]!.segments[0]!.a, contours[terminalContour]!.segments.at(-1)!.b];
  return { pixels: render(a, contours, markers), label, contours, markers, originContour, terminalContour };
}

/** Rasterises paddles (contrast x coverage of a line of the paddle thickness) and markers (discs). */
function render(a: Req, contours: Contour[], markers: Pt[]): Uint8Array {
  const { size, supersample: ss } = a;
  const ink = new Float32Array(size * size);
  const half = a.paddleThickness / 2;
  const sub = (k: number) => (k + 0.5) / ss - 0.5; // sample offsets within a pixel
  for (const c of contours) {
    for (const s of c.segments) {
      for (const i of pixelsNear(s, half + 0.75, size)) {
        const y = Math.floor(i / size);
        const x = i % size;
        let hit = 0;
        for (let u = 0; u < ss; u++) for (let v = 0; v < ss; v++) if (distToSegment(y + sub(u), x + sub(v), s) <= half) hit++;
        ink[i] = Math.max(ink[i]!, (a.contrast * hit) / (ss * ss));
      }
    }
  }
  const r = a.markerRadius;
  for (const p of markers) {
    for (let y = Math.max(0, Math.floor(p.y - r - 1)); y <= Math.min(size - 1, Math.ceil(p.y + r + 1)); y++) {
      for (let x = Math.max(0, Math.floor(p.x - r - 1)); x <= Math.min(size - 1, Math.ceil(p.x + r + 1)); x++) {
        let hit = 0;
        for (let u = 0; u < ss; u++) for (let v = 0; v < ss; v++) if ((y + sub(u) - p.y) ** 2 + (x + sub(v) - p.x) ** 2 <= r * r) hit++;
        ink[y * size + x] = Math.max(ink[y * size + x]!, hit / (ss * ss));
      }
    }
  }
  const out = new Uint8Array(size * size);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(255 * Math.min(1, ink[i]!));
  return out;
}

export interface PathfinderWriteOptions {
  /** Output root; the images go to `<root>/<condition>/imgs/<batch>/`. */
  root: string;
  /** Number of images. */
  count: number;
  /** Images per batch folder / metadata file. Default 1000. */
  batchSize?: number;
  difficulty?: PathfinderDifficulty;
  /** Overrides of the generator parameters (the difficulty sets contourLength). */
  args?: PathfinderArgs;
  onProgress?: (done: number, total: number) => void;
}

/** The contour length of each LRA difficulty (Pathfinder's curv_baseline, _9 and _14). */
export const PATHFINDER_CONTOUR_LENGTH: Record<PathfinderDifficulty, number> = { easy: 6, intermediate: 9, hard: 14 };

/**
 * Generates a Pathfinder condition in the release layout (PNG images plus text metadata
 * rows) and returns the condition folder. Seeded by `rng`.
 */
export async function writePathfinder(rng: Rng, opts: PathfinderWriteOptions): Promise<string> {
  const difficulty = opts.difficulty ?? 'hard';
  const a = pathfinderDefaults({ contourLength: PATHFINDER_CONTOUR_LENGTH[difficulty], ...opts.args });
  const condDir = path.join(opts.root, PATHFINDER_CONDITIONS[difficulty]);
  const batchSize = opts.batchSize ?? 1000;
  mkdirSync(path.join(condDir, 'metadata'), { recursive: true });
  let done = 0;
  for (let batch = 0; batch * batchSize < opts.count; batch++) {
    const n = Math.min(batchSize, opts.count - batch * batchSize);
    const sub = `imgs/${batch}`;
    mkdirSync(path.join(condDir, sub), { recursive: true });
    const images = Array.from({ length: n }, () => drawPathfinder(rng, a));
    await mapLimit(images, 8, (im, k) =>
      sharp(Buffer.from(im.pixels), { raw: { width: a.size, height: a.size, channels: 1 } })
        .png()
        .toFile(path.join(condDir, sub, `sample_${k}.png`)),
    );
    const rows = images.map(
      (im, k) =>
        `${sub} sample_${k}.png ${k} ${im.label} ${a.continuity} ${a.contourLength} ${a.distractorLength} ${a.paddleLength} ${a.paddleThickness} ${a.paddleMargin} 1`,
    );
    writeFileSync(path.join(condDir, 'metadata', `${batch}.npy`), rows.join('\n') + '\n');
    done += n;
    opts.onProgress?.(done, opts.count);
  }
  return condDir;
}
