/**
 * A small line-chart module: series drawn as SVG (text we fully control, testable), rendered
 * to PNG with sharp. Used for a run's `curves.png` (training loss and the evaluation metric).
 */
import sharp from 'sharp';

export interface Series {
  name: string;
  points: [number, number][];
  color?: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Draw the y axis on a log scale (positive values only). */
  logY?: boolean;
  /** Draw the x axis on a log scale (positive values only); ticks at the data's x values. */
  logX?: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** "Nice" tick values covering [lo, hi] (1, 2, 5 times a power of ten). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Ticks of a log axis, given its range in log10 units: 1, 2, 5 x powers of ten (in log10 units). */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const t = Math.log10(m) + e;
      if (t >= lo && t <= hi) out.push(t);
    }
  }
  return out.length >= 2 ? out : niceTicks(lo, hi);
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(1) : String(Number(v.toPrecision(4))));

/** One chart as an SVG string. Empty series are skipped; with no points at all the chart says so. */
export function lineChartSvg(series: Series[], opts: ChartOptions, origin: [number, number] = [0, 0]): string {
  const W = opts.width ?? 480;
  const H = opts.height ?? 320;
  const m = { l: 64, r: 16, t: 32, b: 44 };
  const [ox, oy] = origin;
  const live = series.filter((s) => s.points.length > 0);
  const tf = (y: number) => (opts.logY ? Math.log10(Math.max(y, 1e-12)) : y);
  const tx = (x: number) => (opts.logX ? Math.log10(Math.max(x, 1e-12)) : x);
  const parts: string[] = [
    `<g transform="translate(${ox},${oy})">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-family="sans-serif">${esc(opts.title)}</text>`,
  ];
  if (live.length === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" font-size="12" font-family="sans-serif" fill="#888">no data yet</text></g>`);
    return parts.join('');
  }
  const xs = live.flatMap((s) => s.points.map((p) => tx(p[0])));
  const ys = live.flatMap((s) => s.points.map((p) => tf(p[1]))).filter(Number.isFinite);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  const px = (x: number) => m.l + ((tx(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((tf(y) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const pyRaw = (v: number) => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);

  // Axes and ticks.
  parts.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/>`);
  parts.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`);
  const xTicks = opts.logX ? [...new Set(live.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b) : niceTicks(x0, x1);
  for (const t of xTicks) {
    const x = px(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${H - m.b}" x2="${x}" y2="${H - m.b + 4}" stroke="#333"/>`);
    parts.push(`<text x="${x}" y="${H - m.b + 16}" text-anchor="middle" font-size="10" font-family="sans-serif">${fmt(t)}</text>`);
  }
  for (const t of opts.logY ? logTicks(y0, y1) : niceTicks(y0, y1)) {
    const y = pyRaw(t).toFixed(1);
    parts.push(`<line x1="${m.l}" y1="${y}" x2="${W - m.r}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 6}" y="${y}" dy="3" text-anchor="end" font-size="10" font-family="sans-serif">${fmt(opts.logY ? 10 ** t : t)}</text>`);
  }
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle" font-size="11" font-family="sans-serif">${esc(opts.xLabel)}</text>`);
  parts.push(`<text transform="translate(14,${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle" font-size="11" font-family="sans-serif">${esc(opts.yLabel)}</text>`);

  // Lines (a lone point is drawn as a dot), then the legend.
  live.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter((p) => Number.isFinite(tf(p[1])));
    if (pts.length === 1) {
      parts.push(`<circle cx="${px(pts[0]![0]).toFixed(1)}" cy="${py(pts[0]![1]).toFixed(1)}" r="3" fill="${color}"/>`);
    } else {
      const d = pts.map((p, j) => `${j ? 'L' : 'M'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join('');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
    parts.push(`<rect x="${W - m.r - 120}" y="${m.t + 4 + i * 14}" width="10" height="3" fill="${color}"/>`);
    parts.push(`<text x="${W - m.r - 106}" y="${m.t + 8 + i * 14}" font-size="10" font-family="sans-serif">${esc(s.name)}</text>`);
  });
  parts.push('</g>');
  return parts.join('');
}

/** Several charts side by side in one SVG document. */
export function chartsSvg(charts: { series: Series[]; opts: ChartOptions }[]): string {
  const W = charts.reduce((w, c) => w + (c.opts.width ?? 480), 0);
  const H = Math.max(...charts.map((c) => c.opts.height ?? 320));
  let x = 0;
  const body = charts.map((c) => {
    const svg = lineChartSvg(c.series, c.opts, [x, 0]);
    x += c.opts.width ?? 480;
    return svg;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${body.join('')}</svg>`;
}

/** Renders an SVG document to a PNG file. */
export async function svgToPng(svg: string, file: string): Promise<void> {
  await sharp(Buffer.from(svg)).png().toFile(file);
}
