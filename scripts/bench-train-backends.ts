/**
 * Training throughput of one task on several backends, side by side:
 *
 *   npx tsx scripts/bench-train-backends.ts [--task lra] [--steps 30] [--backends wasm tensorflow] [-- extra train flags]
 *
 * Runs `flowformer train --task T --stop-at-step N --no-progress --backend B` for each backend in
 * its own process (one engine per process, nothing shared), then reads the run's metrics.jsonl:
 * examples/s of every logged window after the first (the first holds warm-up: kernel
 * compilation, data loading), their mean, and the ratio to the first backend. Runs land in
 * results/runs/ like any training run. Timings are only meaningful on an otherwise idle machine.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash >= 0 ? argv.slice(0, dash) : argv;
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const opt = (name: string, dflt: string) => {
  const i = own.indexOf(`--${name}`);
  return i >= 0 && own[i + 1] ? own[i + 1]! : dflt;
};
const task = opt('task', 'lra');
const steps = opt('steps', '30');
const bi = own.indexOf('--backends');
const backends: string[] = [];
for (let i = bi + 1; bi >= 0 && i < own.length && !own[i]!.startsWith('--'); i++) backends.push(own[i]!);
if (backends.length === 0) backends.push('wasm', 'tensorflow');

interface Row { backend: string; runDir: string; windows: number[]; mean: number; wall: number; finalLoss: number }
const rows: Row[] = [];
for (const backend of backends) {
  const args = ['flowformer', 'train', '--task', task, '--stop-at-step', steps, '--no-progress', '--backend', backend, ...extra];
  console.error(`$ npx ${args.join(' ')}`);
  const r = spawnSync('npx', args, { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  const out = `${r.stdout}\n${r.stderr}`;
  const m = /^run (\S+)$/m.exec(out);
  if (r.status !== 0 || !m) {
    console.error(`${backend}: training failed (exit ${r.status}):\n${out.trim().split('\n').slice(-15).join('\n')}`);
    continue;
  }
  const runDir = m[1]!;
  const lines = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
  const train = lines.filter((l) => l.type === 'train');
  const windows = train.slice(1).map((l) => Number(l.examplesPerSec));
  if (windows.length === 0) {
    console.error(`${backend}: fewer than two logged windows in ${runDir}/metrics.jsonl; use more --steps`);
    continue;
  }
  const last = train[train.length - 1]!;
  rows.push({ backend, runDir, windows, mean: windows.reduce((a, b) => a + b, 0) / windows.length, wall: Number(last.time), finalLoss: Number(last.loss) });
}
if (rows.length === 0) process.exit(1);
const base = rows[0]!;
console.log(`| backend | examples/s (mean after warm-up) | windows | wall s to step ${steps} | loss at step ${steps} | vs ${base.backend} |`);
console.log('| --- | ---: | --- | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.backend} | ${r.mean.toFixed(1)} | ${r.windows.map((w) => w.toFixed(0)).join(', ')} | ${r.wall.toFixed(1)} | ${r.finalLoss.toFixed(4)} | ${(r.mean / base.mean).toFixed(2)}x |`,
  );
}
for (const r of rows) console.log(`${r.backend}: ${r.runDir}`);
