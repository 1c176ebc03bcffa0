/**
 * The CLI end to end, as a user runs it: a separate process per command, the example task
 * (core's test fixture) discovered through FLOWFORMER_TASKS, results in a temporary folder.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { tensorflowForTests } from '../../core/src/backend/tensorflow-setup.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../bin/flowformer.js');
const coreTest = path.resolve(here, '../../core/test');
const toyTask = path.join(coreTest, 'fixtures/toy-task.ts');
const toyConfig = path.join(coreTest, 'fixtures/toy/configs/toy/blobs/mlp.yaml');

let tmp: string;

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, FLOWFORMER_TASKS: toyTask, FLOWFORMER_BACKEND: 'cpu', ...env },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-cli-'));
});

describe('flowformer CLI', () => {
  it('--help lists the commands', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['train', 'eval', 'generate', 'visualize', 'config', 'data', 'bench', 'setup', 'list', 'info']) expect(r.out).toContain(c);
  });

  it('info names the backend and why', () => {
    const r = run(['info', '--json', '--backend', 'cpu']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out);
    expect(info.backend).toBe('cpu');
    expect(info.requestedBy).toBe('argument');
    // the automatic choice, in words: where tfjs-node is missing it falls to wasm and says how to
    // get the faster tensorflow backend; where it is set up, it is the backend and no hint is given
    const auto = run(['info'], { FLOWFORMER_BACKEND: '' });
    expect(auto.code, auto.err).toBe(0);
    expect(auto.out).toMatch(/^requested +auto \(default\)$/m);
    if (tensorflowForTests()) {
      expect(auto.out).toMatch(/^backend +tensorflow$/m);
      expect(auto.out).not.toContain('hint');
    } else {
      expect(auto.out).toMatch(/^backend +wasm$/m);
      expect(auto.out).toMatch(/^hint +the tensorflow backend trains several times faster than wasm: `flowformer setup tensorflow --from /m);
    }
  }, 60_000);

  it('--threads sets the threads of the backend (wasm: pthreads; tensorflow: intra-op pool) and is checked', () => {
    const w = run(['info', '--json', '--backend', 'wasm', '--threads', '1']);
    expect(w.code, w.err).toBe(0);
    expect(JSON.parse(w.out).threads).toBe(1);
    const bad = run(['info', '--threads', '0']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--threads: expected a positive integer, got '0'/);
    if (tensorflowForTests()) {
      const t = run(['info', '--json', '--backend', 'tensorflow', '--threads', '1']);
      expect(t.code, t.err).toBe(0);
      expect(JSON.parse(t.out).threads).toBe(1);
    }
  }, 60_000);

  // Whichever TensorFlow package this machine lacks (usually both; tfjs-node-gpu without CUDA).
  const missing = (['tensorflow-gpu', 'tensorflow'] as const).find((b) => {
    try {
      createRequire(import.meta.url).resolve(b === 'tensorflow' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu');
      return false;
    } catch {
      return true;
    }
  });
  it.skipIf(!missing)('asking for a backend that is not installed is an error that says how to get it', () => {
    const r = run(['info'], { FLOWFORMER_BACKEND: missing! });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(missing === 'tensorflow' ? /npm install @tensorflow\/tfjs-node\b/ : /npm install @tensorflow\/tfjs-node-gpu/);
    expect(r.err).toMatch(/--backend wasm/);
  });

  it('list shows the discovered example task', () => {
    const r = run(['list']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^toy\b/m);
  });

  it('config show prints the resolved config; a broken override names key and value', () => {
    const ok = run(['config', 'show', toyConfig, '--set', 'training.epochs=2']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/epochs: 2/);
    const bad = run(['config', 'show', toyConfig, '--set', 'training.epochs=many']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--set training\.epochs=many/);
    expect(bad.err).toMatch(/training\.epochs/);
  });

  it('runs with malloc kept off mmap (the bin starts itself again), and passes a signal on to the run once', async () => {
    expect(run(['info']).out).toMatch(/^malloc +glibc, large blocks kept off mmap/m);
    expect(run(['info'], { FLOWFORMER_MALLOC: 'system' }).out).toMatch(/^malloc +glibc's defaults \(FLOWFORMER_MALLOC=system\)/m);
    // A long run, stopped with SIGINT sent to the bin's own pid (as `kill -INT` or a terminal's Ctrl-C would).
    const root = fs.mkdtempSync(path.join(tmp, 'sig-'));
    const child = spawn(process.execPath, [bin, 'train', '--config', toyConfig, '--set', 'training.epochs=400', '--results-root', root, '--no-progress'], {
      env: { ...process.env, FLOWFORMER_TASKS: toyTask, FLOWFORMER_BACKEND: 'cpu' },
    });
    let err = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/eval @ /.test(err)) resolve();
      }),
    );
    child.kill('SIGINT');
    expect(await exited, err).toBe(130);
    expect(err).toMatch(/SIGINT: finishing this update, saving ckpt\/last/);
    const [configDir] = fs.readdirSync(path.join(root, 'runs', 'toy'));
    const [runId] = fs.readdirSync(path.join(root, 'runs', 'toy', configDir!));
    const summary = JSON.parse(fs.readFileSync(path.join(root, 'runs', 'toy', configDir!, runId!, 'summary.json'), 'utf8'));
    expect(summary.status).toBe('interrupted');
    expect(summary.steps).toBeLessThan(summary.totalSteps);
  }, 120_000);

  it('trains the example task end to end, then evaluates the run', () => {
    const r = run(['train', '--config', toyConfig, '--results-root', tmp, '--no-progress']);
    expect(r.code, r.err).toBe(0);
    // the log opens with the backend and how it was chosen, and each evaluation after the first says how long is left
    expect(r.err).toMatch(/^backend cpu \(env FLOWFORMER_BACKEND\), \d+ threads?\n/);
    expect(r.err).toMatch(/^eval @ 30: .*; \d+s here, about \d+s to go$/m);
    const runs = path.join(tmp, 'runs', 'toy');
    const [configDir] = fs.readdirSync(runs);
    const [runId] = fs.readdirSync(path.join(runs, configDir!));
    const runDir = path.join(runs, configDir!, runId!);
    const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8'));
    expect(summary.status).toBe('completed');
    expect(summary.task).toBe('toy');
    expect(summary.backend).toBe('cpu');
    expect(summary.command).toMatch(/^flowformer train --config/);
    const lines = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const losses = lines.filter((l) => typeof l.loss === 'number').map((l) => l.loss as number);
    expect(losses.length).toBeGreaterThan(3);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    expect(fs.existsSync(path.join(runDir, 'curves.png'))).toBe(true);

    const ev = run(['eval', '--run', runDir, '--split', 'valid', '--json']);
    expect(ev.code, ev.err).toBe(0);
    const metrics = JSON.parse(ev.out).metrics;
    expect(metrics.accuracy).toBeGreaterThan(0.5);
  });

  it('list runs: each run with its state (a dead running record is abandoned), progress and best, how to resume, and why a run cannot go on', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-cli-runs-'));
    const gone = spawnSync(process.execPath, ['-e', '']).pid!; // a process that has exited
    const record = (id: string, o: Record<string, unknown>) => {
      const runDir = path.join(root, 'runs', 'toy', 'mlp', id);
      fs.mkdirSync(runDir, { recursive: true });
      const s = { task: 'toy', dataset: 'blobs', model: 'mlp', attention: 'none', configName: 'mlp', configPath: toyConfig, runId: id, runDir, metric: { name: 'accuracy', mode: 'max', split: 'valid' }, best: { value: 0.5, step: 10, epoch: 1, metrics: { accuracy: 0.5 } }, final: null, test: null, steps: 10, totalSteps: 40, epochs: 1, lastLoss: 1, params: 1, wallSeconds: 12, backend: 'cpu', seed: 0, command: 'flowformer train', gitCommit: null, dataInfo: {}, startedAt: id, finishedAt: id, ...o };
      fs.writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify(s));
      return runDir;
    };
    record('20260101-000000-s0', { status: 'completed', steps: 40 });
    const dead = record('20260102-000000-s0', { status: 'running', pid: gone, host: os.hostname() });
    const before = run(['list', 'runs', '--results-root', root]);
    expect(before.out).not.toContain('Continue one with'); // no ckpt/last yet: nothing to resume from
    fs.mkdirSync(path.join(dead, 'ckpt', 'last'), { recursive: true });
    fs.writeFileSync(path.join(dead, 'ckpt', 'last', 'manifest.json'), '{}');
    const r = run(['list', 'runs', '--results-root', root]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/completed\s+\S*runs\/toy\/mlp\/20260101-000000-s0\s+0\s+40\/40\s+valid accuracy 0\.5000 @ 10/);
    expect(r.out).toMatch(/abandoned\s+\S*runs\/toy\/mlp\/20260102-000000-s0\s+0\s+10\/40\s+valid accuracy 0\.5000 @ 10\s+12 s\s+~36 s\s+cpu/); // 30 updates left at 1.2 s each
    expect(r.out).toContain('2 run(s): 1 completed, 1 abandoned.');
    expect(r.out).toContain('Continue one with: flowformer train --resume');
    const only = run(['list', 'runs', '--unfinished', '--json', '--results-root', root]);
    expect(JSON.parse(only.out).map((x: { state: string; runDir: string }) => [x.state, x.runDir])).toEqual([['abandoned', dead]]);
    expect(run(['list', 'runs', '--task', 'other', '--results-root', root]).out).toMatch(/^No run of task other under /);

    // an interrupted run whose setting completed later is superseded; one without ckpt/last cannot resume
    record('20251231-000000-s0', { status: 'interrupted' });
    record('20260103-000000-s1', { status: 'interrupted', seed: 1 });
    const notes = run(['list', 'runs', '--unfinished', '--results-root', root]);
    expect(notes.code, notes.err).toBe(0);
    expect(notes.out).toMatch(/interrupted\s+\S*20251231-000000-s0\s+0\s+10\/40\s+valid accuracy 0\.5000 @ 10\s+12 s\s+-\s+cpu\s+superseded: 20260101-000000-s0 completed/);
    expect(notes.out).toMatch(/interrupted\s+\S*20260103-000000-s1\s+1\s+10\/40\s+.*-\s+cpu\s+no ckpt\/last here: cannot resume/);
    expect(notes.out).toContain('`flowformer reproduce` starts its job over');
    expect(notes.out).toMatch(/Continue one with: flowformer train --resume \S*20260102-000000-s0/); // the abandoned one, which has its ckpt/last
    const json = JSON.parse(run(['list', 'runs', '--unfinished', '--json', '--results-root', root]).out) as { runDir: string; resumable: boolean; supersededBy: string | null }[];
    expect(json.find((x) => x.runDir.endsWith('20251231-000000-s0'))!.supersededBy).toMatch(/20260101-000000-s0$/);
    expect(json.find((x) => x.runDir.endsWith('20260103-000000-s1'))!.resumable).toBe(false);
  });

  it('train notes another run training on this machine and says how to share the cores, unless threads are given', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-cli-share-'));
    // a live record: this test's own pid on this host
    const other = path.join(root, 'runs', 'toy', 'other', 'r1');
    fs.mkdirSync(other, { recursive: true });
    fs.writeFileSync(path.join(other, 'summary.json'), JSON.stringify({ task: 'toy', runDir: other, status: 'running', pid: process.pid, host: os.hostname(), steps: 1, totalSteps: 9 }));
    const args = ['train', '--config', toyConfig, '--results-root', root, '--no-progress', '--stop-at-step', '1'];
    const cores = os.availableParallelism();
    const r = run(args);
    expect(r.code, r.err).toBe(0);
    if (cores > 1) expect(r.err).toContain(`note: 1 other run is training on this machine (pid ${process.pid}). Without --threads each run takes all ${cores} cores`);
    const quiet = run([...args, '--threads', '1']);
    expect(quiet.code, quiet.err).toBe(0);
    expect(quiet.err).not.toContain('other run');
  }, 60_000);

  it('train without a config or task explains what to pass', () => {
    const r = run(['train']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--task T .*--config FILE.*--resume RUN_DIR/);
  });

  it('bench step: time and memory of one training step of a config, with both backward passes, as a table and a record', () => {
    const out = path.join(tmp, 'bench-step');
    const r = run(['bench', 'step', '-c', toyConfig, '--batch-size', '8', '--runs', '2', '--warmup', '0', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/\| ours \| 8 \| \d+ \| \d+ \| [\d.]+ \| [\d.]+ \|/);
    expect(r.out).toMatch(/\| tfjs \| 8 \|/);
    const rec = JSON.parse(fs.readFileSync(path.join(out, 'step-blobs-mlp.json'), 'utf8'));
    expect(rec.command).toMatch(/^flowformer bench step -c /);
    expect(rec.rows.map((x: { backward: string }) => x.backward)).toEqual(['ours', 'tfjs']);
    for (const row of rec.rows) {
      expect(row.batchSize).toBe(8);
      expect(row.medianMs).toBeGreaterThan(0);
      expect(row.peakBytes).toBeGreaterThan(0);
    }
    // The trainer's pass never needs more tensor memory than tfjs's.
    expect(rec.rows[0].peakBytes).toBeLessThanOrEqual(rec.rows[1].peakBytes);
    expect(fs.readFileSync(path.join(out, 'step-blobs-mlp.md'), 'utf8')).toContain('| backward pass | batch |');
  });

  it('bench step --update --profile: the whole training step, and where its kernels and memory go', () => {
    const r = run(['bench', 'step', '-c', toyConfig, '--batch-size', '8', '--runs', '1', '--warmup', '0', '--backward', 'ours', '--update', '--profile', '--json']);
    expect(r.code, r.err).toBe(0);
    const rec = JSON.parse(r.out);
    expect(rec.update).toBe(true);
    expect(rec.rows.map((x: { backward: string }) => x.backward)).toEqual(['ours']);
    const p = rec.profile;
    expect(p.forwardKernels).toBeGreaterThan(0);
    expect(p.backwardKernels).toBeGreaterThan(0);
    expect(p.savedBytes).toBeGreaterThan(0);
    expect(p.savedByModule.reduce((n: number, m: { bytes: number }) => n + m.bytes, 0)).toBe(p.savedBytes);
    expect(p.kernels.length).toBeGreaterThan(0);
  });

  it('bench step names a batch larger than the training split', () => {
    const r = run(['bench', 'step', '-c', toyConfig, '--batch-size', '100000']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/fewer than a batch of 100000/);
  });
});
