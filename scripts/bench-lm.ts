/**
 * Training throughput of nanoGPT's CPU recipe (tiny Shakespeare, 4 layers x 128, 4 heads, block 64,
 * batch 12, dropout 0) with softmax and causal Flow-Attention, and where a step's time goes.
 *
 *   npx tsx --conditions=source scripts/bench-lm.ts record [--steps 300] [--rounds 1] [--peer peer.json] [--out DIR]
 *   npx tsx --conditions=source scripts/bench-lm.ts render [--out DIR]     (record.md again from record.json)
 *   npx tsx --conditions=source scripts/bench-lm.ts profile [--model transformer|flowformer] [--steps 3] [--trace kernels.txt]
 *
 * `record` runs, for each config (configs/wikitext/shakespeare-char/{transformer,flowformer}.yaml),
 *   npx flowformer train -c <config> --set training.steps=<steps> --set training.logEvery=1 --no-progress
 * in its own process (the configs alternate when --rounds > 1), reads every update's tokensPerSec
 * from the run's metrics.jsonl (compute time of the update only: batch, forward, backward, clipping,
 * optimiser; evaluations and checkpoints are not in it), drops the first 10 updates (warm-up) and
 * writes the median and the mean to <out>/record.json and record.md (default
 * results/bench/lm-shakespeare-char). logEvery=1 changes only how often a metrics line is written,
 * so that each update is its own sample, as nanoGPT's `--log_interval=1` iterations are.
 * `--peer` takes a JSON written by a driver of nanoGPT's train.py, run outside this repository, with
 * at least `tokensPerSecMedian`, `tokensPerSecMean`, `command`, `torch` and `threads`; its figures
 * are put beside ours with the ratios.
 *
 * `profile` builds the same data, model and optimiser in this process, runs `--steps` warm-up
 * updates, then one update under tf.profile per phase (forward+backward, clipping, optimiser) and
 * prints the kernels launched, the time inside kernels by kernel name, and the wall time the phase
 * took beyond its kernels (JavaScript between kernels); `--trace` appends every kernel with its
 * shapes and time to a file. Kernel counts do not depend on the
 * machine's load; times do.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { accumulateGradients, backendInfo, clipScale, initBackend, loadConfig, makeOptimizer, registerTask, Rng, tf } from '@flowformer/core';
import { wikitextTask } from '@flowformer/wikitext';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = ['transformer', 'flowformer'] as const;
type Model = (typeof MODELS)[number];
const configPath = (m: Model) => `configs/wikitext/shakespeare-char/${m}.yaml`;
const WARMUP = 10;

const argv = process.argv.slice(2);
const mode = argv[0];
const opt = (name: string, dflt: string | null): string | null => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

// ------------------------------------------------------------------ record

interface Row {
  model: Model;
  attention: string;
  /** As the run's summary.json records it. */
  backend: string;
  command: string;
  runDir: string;
  updates: number;
  tokensPerSecMedian: number;
  tokensPerSecMean: number;
  finalLoss: number;
}

function runOnce(model: Model, steps: number): Row {
  const args = ['flowformer', 'train', '-c', configPath(model), '--set', `training.steps=${steps}`, '--set', 'training.logEvery=1', '--no-progress'];
  const command = `npx ${args.join(' ')}`;
  console.error(`$ ${command}`);
  const r = spawnSync('npx', args, { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  const out = `${r.stdout}\n${r.stderr}`;
  const m = /^run (\S+)$/m.exec(out);
  if (r.status !== 0 || !m) throw new Error(`${command} failed (exit ${r.status}):\n${out.trim().split('\n').slice(-15).join('\n')}`);
  const runDir = m[1]!;
  const lines = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
  const train = lines.filter((l) => l.type === 'train');
  const perUpdate = train.filter((l) => Number(l.step) > WARMUP).map((l) => Number(l.tokensPerSec));
  if (perUpdate.length === 0) throw new Error(`${runDir}/metrics.jsonl: no update after the first ${WARMUP}; use more --steps`);
  // The mean over updates of seconds, as tokens / time (every update has the same tokens).
  const meanSeconds = perUpdate.reduce((a, t) => a + 1 / t, 0) / perUpdate.length;
  const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as { backend?: string };
  return {
    model,
    attention: model === 'transformer' ? 'softmax' : 'flow (causal)',
    backend: summary.backend ?? 'unknown',
    command,
    runDir: path.relative(repoRoot, runDir),
    updates: perUpdate.length,
    tokensPerSecMedian: median(perUpdate),
    tokensPerSecMean: 1 / meanSeconds,
    finalLoss: Number(train[train.length - 1]!.loss),
  };
}

type LmRecord = {
  benchmark: string;
  command: string;
  recordedAt: string;
  machine: { cpu: string; cores: number; platform: string; node: string; loadAverage: number[] };
  backend: string;
  measure: string;
  rows: Row[];
  peer: Record<string, unknown> | null;
};

/** record.md from record.json's fields (`render` rewrites it from a record.json alone). */
function renderRecord(rec: LmRecord): string {
  const { rows, peer } = rec;
  const ratio = (x: number, key: 'tokensPerSecMedian' | 'tokensPerSecMean') => (peer ? `${(x / (peer[key] as number)).toFixed(2)}x` : '-');
  return [
    `# ${rec.benchmark}`,
    '',
    `Made by \`${rec.command}\` on ${rec.recordedAt} (${rec.machine.cpu}, ${rec.machine.cores} cores, Node ${rec.machine.node}; load average ${rec.machine.loadAverage.map((l) => l.toFixed(1)).join(' ')}).`,
    `Backend: ${rec.backend}. Measure: ${rec.measure}.`,
    // The runs themselves keep every core busy (load about the number of cores); more than one
    // on top of that means other work shared the machine.
    ...(rec.machine.loadAverage[0]! > rec.machine.cores + 1
      ? ['', `**The machine was busy** (load average ${rec.machine.loadAverage[0]!.toFixed(1)} on ${rec.machine.cores} cores, where these runs alone make about ${rec.machine.cores}): these timings compare nothing; run again on a quiet machine.`]
      : []),
    '',
    '| model | attention | tokens/s (median) | tokens/s (mean) | vs peer (median) | vs peer (mean) | loss at the last update |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.model} | ${r.attention} | ${r.tokensPerSecMedian.toFixed(0)} | ${r.tokensPerSecMean.toFixed(0)} | ${ratio(r.tokensPerSecMedian, 'tokensPerSecMedian')} | ${ratio(r.tokensPerSecMean, 'tokensPerSecMean')} | ${r.finalLoss.toFixed(4)} |`),
    ...(peer
      ? [`| nanoGPT (peer) | softmax | ${(peer.tokensPerSecMedian as number).toFixed(0)} | ${(peer.tokensPerSecMean as number).toFixed(0)} | 1.00x | 1.00x | ${typeof peer.finalLoss === 'number' ? peer.finalLoss.toFixed(4) : '-'} |`, '', `Peer: \`${String(peer.command)}\` (torch ${String(peer.torch)}, ${String(peer.threads)} threads), run outside this repository.`]
      : ['', 'No peer figure (pass --peer <json>).']),
    '',
    ...rows.map((r) => `- ${r.model}: \`${r.command}\` -> ${r.runDir}`),
    '',
  ].join('\n');
}

function render(): void {
  const outDir = path.resolve(repoRoot, opt('out', 'results/bench/lm-shakespeare-char')!);
  const rec = JSON.parse(fs.readFileSync(path.join(outDir, 'record.json'), 'utf8')) as LmRecord;
  fs.writeFileSync(path.join(outDir, 'record.md'), renderRecord(rec));
  console.error(`rewrote ${path.join(outDir, 'record.md')}`);
}

function record(): void {
  const steps = Number(opt('steps', '300'));
  const rounds = Number(opt('rounds', '1'));
  const outDir = path.resolve(repoRoot, opt('out', 'results/bench/lm-shakespeare-char')!);
  const peerPath = opt('peer', null);
  const peer = peerPath ? (JSON.parse(fs.readFileSync(peerPath, 'utf8')) as Record<string, unknown>) : null;
  if (peer && (typeof peer.tokensPerSecMedian !== 'number' || typeof peer.tokensPerSecMean !== 'number')) {
    throw new Error(`${peerPath}: needs numeric fields tokensPerSecMedian and tokensPerSecMean`);
  }
  const runs: Row[] = [];
  for (let r = 0; r < rounds; r++) for (const m of MODELS) runs.push(runOnce(m, steps));
  // Per model: the round with the median of the medians (one round: that round).
  const rows = MODELS.map((m) => {
    const mine = runs.filter((r) => r.model === m).sort((a, b) => a.tokensPerSecMedian - b.tokensPerSecMedian);
    return mine[(mine.length - 1) >> 1]!;
  });
  const cpus = os.cpus();
  const rec = {
    benchmark: "nanoGPT's CPU recipe on tiny Shakespeare: training tokens/s",
    command: `npx tsx --conditions=source scripts/bench-lm.ts ${argv.join(' ')}`,
    recordedAt: new Date().toISOString(),
    machine: { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, platform: `${os.platform()} ${os.release()}`, node: process.version, loadAverage: os.loadavg() },
    backend: [...new Set(runs.map((r) => r.backend))].join(', '),
    measure: `tokens/s of each update (compute time only; no evaluation), updates ${WARMUP + 1}..${steps}; median and mean (total tokens / total seconds)`,
    rows,
    allRounds: runs,
    peer,
    // The performance page's lines (core results/bench-summary.ts): issue #42 asks for nanoGPT's
    // tokens/s with softmax attention and at least 0.8x of it with causal Flow-Attention.
    comparisons: peer
      ? rows.map((r) => ({
          work: `nanoGPT's CPU recipe (tiny Shakespeare, 4x128, block 64, batch 12), ${r.attention} attention: training tokens/s (median of updates ${WARMUP + 1}..${steps})`,
          unit: 'tokens/s',
          ours: r.tokensPerSecMedian,
          peer: 'nanoGPT (softmax)',
          peerValue: peer.tokensPerSecMedian as number,
          better: 'higher',
          goal: r.attention === 'softmax' ? 1 : 0.8,
        }))
      : undefined,
  };
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'record.json'), `${JSON.stringify(rec, null, 2)}\n`);
  const md = renderRecord(rec);
  fs.writeFileSync(path.join(outDir, 'record.md'), md);
  console.log(md);
}

// ------------------------------------------------------------------ profile

interface KernelLine {
  name: string;
  count: number;
  ms: number;
}

async function profilePhase(label: string, f: () => Promise<unknown> | unknown): Promise<{ kernels: number; kernelMs: number; wallMs: number; byName: KernelLine[] }> {
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await f();
    return [];
  });
  const wallMs = performance.now() - t0;
  const trace = opt('trace', null);
  if (trace) fs.appendFileSync(trace, `## ${label}\n` + info.kernels.map((k) => `${k.name} ${JSON.stringify(k.inputShapes)} -> ${JSON.stringify(k.outputShapes)} ${(Number(k.kernelTimeMs) || 0).toFixed(3)} ms`).join('\n') + '\n');
  const byName = new Map<string, KernelLine>();
  let kernelMs = 0;
  for (const k of info.kernels) {
    const ms = Number(k.kernelTimeMs) || 0;
    kernelMs += ms;
    const line = byName.get(k.name) ?? { name: k.name, count: 0, ms: 0 };
    line.count += 1;
    line.ms += ms;
    byName.set(k.name, line);
  }
  const lines = [...byName.values()].sort((a, b) => b.ms - a.ms);
  console.log(`\n## ${label}: ${info.kernels.length} kernels, ${kernelMs.toFixed(1)} ms in kernels, ${wallMs.toFixed(1)} ms wall (profiled)`);
  console.log('| kernel | launches | ms |\n| --- | ---: | ---: |');
  for (const l of lines) console.log(`| ${l.name} | ${l.count} | ${l.ms.toFixed(2)} |`);
  return { kernels: info.kernels.length, kernelMs, wallMs, byName: lines };
}

async function profile(): Promise<void> {
  const model = (opt('model', 'transformer') as Model);
  if (!MODELS.includes(model)) throw new Error(`--model must be one of ${MODELS.join(', ')}, got '${model}'`);
  const warm = Number(opt('steps', '3'));
  await initBackend((opt('backend', null) ?? undefined) as never);
  registerTask(wikitextTask);
  const resolved = loadConfig(path.join(repoRoot, configPath(model)));
  const config = resolved.config;
  const rng = new Rng(config.seed);
  const data = await wikitextTask.load(config as never, { dataRoot: path.join(repoRoot, 'data'), cacheDir: path.join(repoRoot, '.cache'), rng: rng.fork(), log: () => {} });
  const net = wikitextTask.build(config as never, data, rng.fork());
  const params = net.namedParams();
  const trainable = params.filter((p) => p.trainable).map((p) => p.variable);
  const paramName = new Map(params.map((p) => [p.variable.name, p.name]));
  const optimizer = makeOptimizer(config.optimizer, params);
  const dropout = rng.fork();
  const B = config.training.batchSize;
  let step = 0;
  const micro = () => [Int32Array.from({ length: B }, (_, i) => (step * B + i) % data.train.size)];
  const forwardBackward = () => accumulateGradients({ model: net, trainable, paramName, micro: micro(), dropout, batch: (k) => data.train.batch(micro()[k]!, { training: true, rng: new Rng(step) }) });
  const update = async () => {
    const { grads } = await forwardBackward();
    optimizer.step(grads, 1e-3, clipScale(grads, 1).scale);
    tf.dispose(Object.values(grads));
    step++;
  };
  for (let i = 0; i < warm; i++) await update();
  const t0 = performance.now();
  for (let i = 0; i < warm; i++) await update();
  const unprofiledMs = (performance.now() - t0) / Math.max(warm, 1);
  console.log(`# ${configPath(model)}: ${backendInfo().backend}, ${net.numParams()} parameters, batch ${B}; ${unprofiledMs.toFixed(1)} ms per update unprofiled (mean of ${warm})`);
  let grads: Record<string, tf.Tensor> = {};
  const fb = await profilePhase('forward + backward (batch, loss, gradients)', async () => {
    grads = (await forwardBackward()).grads;
  });
  let scale = 1;
  const clip = await profilePhase('gradient clipping (the norm and its factor)', () => {
    scale = clipScale(grads, 1).scale;
  });
  const opt_ = await profilePhase('optimiser (with the clipping factor)', () => optimizer.step(grads, 1e-3, scale));
  tf.dispose(Object.values(grads));
  const total = [fb, clip, opt_].reduce((a, p) => ({ kernels: a.kernels + p.kernels, kernelMs: a.kernelMs + p.kernelMs, wallMs: a.wallMs + p.wallMs }), { kernels: 0, kernelMs: 0, wallMs: 0 });
  console.log(`\n## one update: ${total.kernels} kernels; ${total.kernelMs.toFixed(1)} ms in kernels, ${(total.wallMs - total.kernelMs).toFixed(1)} ms outside them (profiled wall ${total.wallMs.toFixed(1)} ms)`);
  optimizer.dispose();
  net.dispose();
}

if (mode === 'record') record();
else if (mode === 'render') render();
else if (mode === 'profile') await profile();
else {
  console.error('usage: npx tsx --conditions=source scripts/bench-lm.ts record [--steps 300] [--rounds 1] [--peer nanogpt.json] [--out results/bench/lm-shakespeare-char]\n       npx tsx --conditions=source scripts/bench-lm.ts render [--out results/bench/lm-shakespeare-char]   (record.md again from record.json)\n       npx tsx --conditions=source scripts/bench-lm.ts profile [--model transformer|flowformer] [--steps 3]');
  process.exit(2);
}
