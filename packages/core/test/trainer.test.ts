import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { ConfigError } from '../src/errors.ts';
import { loadConfig } from '../src/config/load.ts';
import { readCheckpointInfo } from '../src/train/checkpoint.ts';
import { BATCHES_AHEAD, evaluateRun, train, TrainingDivergedError, type TrainOptions } from '../src/train/trainer.ts';
import { REPO_ROOT, runState, type MetricsLine, type RunSummary } from '../src/train/run-record.ts';
import './fixtures/toy-task.ts'; // registers the example task, as the CLI's discovery would

const here = path.dirname(fileURLToPath(import.meta.url));
const configPath = path.join(here, 'fixtures/toy/configs/toy/blobs/mlp.yaml');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowformer-trainer-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const base = (extra: Partial<TrainOptions> = {}): TrainOptions => ({
  configPath,
  resultsRoot: tmp,
  progress: false,
  log: () => {},
  handleSigint: true,
  ...extra,
});
const metricsOf = (s: RunSummary) =>
  fs
    .readFileSync(path.join(s.runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsLine);

describe('trainer on the example task', () => {
  it('trains end to end: loss falls, accuracy rises, the run record is complete', async () => {
    const s = await train(base({ command: 'flowformer train --task toy' }));
    expect(s.status).toBe('completed');
    expect(s.runDir.startsWith(path.join(tmp, 'runs', 'toy', 'blobs-mlp'))).toBe(true);
    // 240 examples / 16 = 15 updates per epoch, 4 epochs.
    expect(s.steps).toBe(60);
    const lines = metricsOf(s);
    const trainLosses = lines.filter((l) => l.type === 'train').map((l) => l.loss as number);
    expect(trainLosses.length).toBe(12);
    expect(trainLosses.at(-1)!).toBeLessThan(trainLosses[0]! * 0.6);
    const evals = lines.filter((l) => l.type === 'eval');
    expect(evals.map((l) => l.step)).toEqual([15, 30, 45, 60]);
    expect(s.best!.value).toBeGreaterThan(0.8);
    expect(s.final!.step).toBe(60);
    expect(s.test!.metrics.accuracy).toBeGreaterThan(0.8);
    for (const k of ['task', 'dataset', 'model', 'attention', 'metric', 'best', 'final', 'steps', 'wallSeconds', 'backend', 'seed', 'command', 'gitCommit']) {
      expect(s).toHaveProperty(k);
    }
    const onDisk = JSON.parse(fs.readFileSync(path.join(s.runDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(onDisk).toMatchObject({ task: 'toy', dataset: 'blobs', model: 'mlp', attention: 'flow', seed: 7, steps: 60, command: 'flowformer train --task toy' });
    expect(onDisk.backend).toBe(tf.getBackend());
    // The saved config is the resolved one and loads again.
    expect(loadConfig(path.join(s.runDir, 'config.yaml')).config.optimizer).toEqual(loadConfig(configPath).config.optimizer);
    expect(readCheckpointInfo(path.join(s.runDir, 'ckpt/best')).step).toBe(s.best!.step);
    expect(readCheckpointInfo(path.join(s.runDir, 'ckpt/last')).step).toBe(60);
    const png = await sharp(path.join(s.runDir, 'curves.png')).metadata();
    expect([png.format, png.width, png.height]).toEqual(['png', 960, 320]);
    // Evaluating the saved best checkpoint reproduces the recorded metrics.
    const ev = await evaluateRun({ runDir: s.runDir, checkpoint: 'best', split: 'valid', log: () => {} });
    expect(ev.metrics.accuracy).toBeCloseTo(s.best!.metrics.accuracy!, 6);
    expect(ev.step).toBe(s.best!.step);
  });

  it("while running, the record names its process and host (so a killed run reads as abandoned); the final record does not", async () => {
    let runDir = '';
    let first: RunSummary | null = null;
    let during: RunSummary | null = null;
    const s = await train(
      base({
        log: (m) => {
          if (m.startsWith('run ')) runDir = m.slice(4).trim();
        },
        onStep: ({ step }) => {
          // Before the first evaluation: the record already says running (written before the loop).
          if (step === 1) first = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary;
          if (step === 20) during = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary; // after the first evaluation (update 15)
        },
      }),
    );
    expect(first).toMatchObject({ status: 'running', pid: process.pid, host: os.hostname(), steps: 0, best: null });
    expect(runState(first!)).toBe('running');
    expect(during).toMatchObject({ status: 'running', pid: process.pid, host: os.hostname(), steps: 15 });
    expect(runState(during!)).toBe('running');
    const final = JSON.parse(fs.readFileSync(path.join(s.runDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(final.status).toBe('completed');
    expect(final.pid).toBeUndefined();
    expect(final.host).toBeUndefined();
  });

  it('evaluation.at adds evaluations (0: the initial weights) to those every N, and the best counts them all', async () => {
    // 15 updates per epoch, 4 epochs: every 2 epochs gives updates 30 and 60; at [0, 1] adds 0 and 15.
    const losses: number[] = [];
    const lines: string[] = [];
    const s = await train(base({ sets: ['evaluation.every=2', 'evaluation.at=[0,1]'], onStep: ({ loss }) => losses.push(loss), log: (m) => lines.push(m) }));
    const evals = metricsOf(s).filter((l) => l.type === 'eval');
    expect(evals.map((l) => l.step)).toEqual([0, 15, 30, 60]);
    // each evaluation's line after the first says how long the run has taken here and how long it still needs
    const evalLines = lines.filter((m) => m.startsWith('eval @'));
    expect(evalLines).toHaveLength(4);
    expect(evalLines[0]).not.toContain('to go');
    for (const m of evalLines.slice(1)) expect(m).toMatch(/; \d+(m\d+)?s here, about \d+(m\d+)?s to go$/);
    expect(evalLines[3]).toMatch(/about 0s to go$/);
    const best = evals.reduce((a, b) => ((b.accuracy as number) > (a.accuracy as number) ? b : a));
    expect(s.best!.value).toBe(best.accuracy);
    // Evaluating does not change the training: without the extra evaluations the losses are the same,
    // so a run without them is the same run observed fewer times (the UEA report relies on this).
    const plain: number[] = [];
    await train(base({ sets: ['evaluation.every=2'], onStep: ({ loss }) => plain.push(loss) }));
    expect(plain).toEqual(losses);
    // in steps too, and a resumed run does not evaluate its starting point again
    const st = await train(base({ sets: ['evaluation.unit=steps', 'evaluation.every=25', 'evaluation.at=[0,7]'], stopAtStep: 10 }));
    const resumed = await train(base({ resume: st.runDir }));
    expect(metricsOf(resumed).filter((l) => l.type === 'eval').map((l) => l.step)).toEqual([0, 7, 25, 50, 60]);
  });

  it('a run stopped at update k and resumed gives the same losses as one never stopped', async () => {
    // Dropout, shuffling, gradient accumulation with an uneven last update, clipping and a
    // warm-up schedule all depend on state that the checkpoint must carry.
    const sets = ['training.gradAccum=2', 'training.batchSize=12', 'model.dropout=0.3', 'training.epochs=3', 'evaluation.every=2', 'training.logEvery=4'];
    const full: number[] = [];
    const a = await train(base({ sets, onStep: ({ loss }) => full.push(loss) }));
    const parts: number[] = [];
    const b1 = await train(base({ sets, stopAtStep: 13, onStep: ({ loss }) => parts.push(loss) }));
    expect(b1.status).toBe('stopped');
    expect(readCheckpointInfo(path.join(b1.runDir, 'ckpt/last')).step).toBe(13);
    const b2 = await train(base({ resume: b1.runDir, onStep: ({ loss }) => parts.push(loss) }));
    expect(b2.status).toBe('completed');
    expect(b2.runDir).toBe(b1.runDir);
    expect(parts).toHaveLength(full.length);
    expect(parts).toEqual(full); // bit for bit
    expect(b2.final).toEqual(a.final);
    expect(b2.best).toEqual(a.best);
    // metrics.jsonl of the resumed run is that of the uninterrupted one (but for times and throughputs).
    const comparable = (s: RunSummary) => metricsOf(s).map(({ time, examplesPerSec, ...rest }) => rest);
    expect(comparable(b2)).toEqual(comparable(a));
  });

  it('the run records the commit it started on, also when it is resumed on another', async () => {
    const sets = ['training.epochs=1'];
    const s1 = await train(base({ sets, stopAtStep: 5 }));
    const atStart = s1.gitCommit;
    expect(readCheckpointInfo(path.join(s1.runDir, 'ckpt/last')).meta.gitCommit).toBe(atStart);
    // Pretend the run started on another commit: a resumption on this one keeps the first and
    // lists the one it resumed on.
    const manifestPath = path.join(s1.runDir, 'ckpt/last/manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    manifest.meta.gitCommit = '0123456789abcdef0123456789abcdef01234567';
    fs.writeFileSync(manifestPath, JSON.stringify(manifest));
    const s2 = await train(base({ resume: s1.runDir }));
    expect(s2.status).toBe('completed');
    expect(s2.gitCommit).toBe('0123456789abcdef0123456789abcdef01234567');
    expect(s2.resumedCommits).toEqual([atStart ?? 'none']);
    const onDisk = JSON.parse(fs.readFileSync(path.join(s2.runDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(onDisk.gitCommit).toBe(s2.gitCommit);
  });

  it('a resumed run keeps the command that started it (its --sets are its setting) and lists the resuming ones', async () => {
    const start = 'flowformer train -c mlp.yaml --set training.epochs=1 --set training.logEvery=2';
    const s1 = await train(base({ sets: ['training.epochs=1', 'training.logEvery=2'], stopAtStep: 4, command: start }));
    expect(s1).toMatchObject({ command: start, status: 'stopped' });
    expect(s1.resumeCommands).toBeUndefined();
    const resume = `flowformer train --resume ${s1.runDir}`;
    const s2 = await train(base({ resume: s1.runDir, stopAtStep: 8, command: resume }));
    expect(s2).toMatchObject({ command: start, resumeCommands: [resume] });
    const s3 = await train(base({ resume: s1.runDir, command: `${resume} --threads 1` }));
    expect(s3).toMatchObject({ status: 'completed', command: start, resumeCommands: [resume, `${resume} --threads 1`] });
    const onDisk = JSON.parse(fs.readFileSync(path.join(s3.runDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(onDisk).toMatchObject({ command: start, resumeCommands: s3.resumeCommands });
    // On disk, paths inside the repository are relative to it (the config here), others absolute
    // (the temporary results root); what train returns has them absolute.
    expect(onDisk.configPath).toBe(path.relative(REPO_ROOT, configPath));
    expect(onDisk.runDir).toBe(s1.runDir);
    expect(s3.configPath).toBe(configPath);
  });

  it('a checkpoint without the commit (written by an older version) takes it from the summary beside it', async () => {
    const s1 = await train(base({ sets: ['training.epochs=1'], stopAtStep: 5 }));
    const manifestPath = path.join(s1.runDir, 'ckpt/last/manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    delete manifest.meta.gitCommit;
    delete manifest.meta.resumedCommits;
    fs.writeFileSync(manifestPath, JSON.stringify(manifest));
    const summaryPath = path.join(s1.runDir, 'summary.json');
    fs.writeFileSync(summaryPath, JSON.stringify({ ...JSON.parse(fs.readFileSync(summaryPath, 'utf8')), gitCommit: 'fedcba9876543210fedcba9876543210fedcba98' }));
    const s2 = await train(base({ resume: s1.runDir }));
    expect(s2.gitCommit).toBe('fedcba9876543210fedcba9876543210fedcba98');
  });

  it('gradient accumulation over micro-batches equals one big batch', async () => {
    const common = ['model.dropout=0', 'training.epochs=1', 'training.gradClip=null'];
    const big: number[] = [];
    const acc: number[] = [];
    const a = await train(base({ sets: [...common, 'training.batchSize=16'], onStep: ({ loss }) => big.push(loss) }));
    const b = await train(base({ sets: [...common, 'training.batchSize=8', 'training.gradAccum=2'], onStep: ({ loss }) => acc.push(loss) }));
    expect(acc).toHaveLength(15);
    acc.forEach((l, i) => expect(l).toBeCloseTo(big[i]!, 5));
    expect(b.final!.metrics.loss).toBeCloseTo(a.final!.metrics.loss!, 4);
  });

  it('a NaN loss stops the run with a clear message and keeps the last good checkpoint', async () => {
    // Example 200 is NaN: the update whose batch holds it fails; with evaluation every 5
    // updates, some checkpoint was written before (the order is seeded, so this is fixed).
    const before = tf.memory().numTensors;
    const p = train(base({ sets: ['data.nanExample=200', 'evaluation.every=5', 'evaluation.unit=steps'] }));
    await expect(p).rejects.toThrow(TrainingDivergedError);
    const err = (await p.catch((e) => e)) as TrainingDivergedError;
    expect(err.message).toMatch(/^training diverged: the loss is NaN at update \d+ \(epoch [\d.]+, lr [\d.e+-]+\)\. The update was not applied; ckpt\/last \(update \d+\) is the last good checkpoint in .+\. Try a lower optimizer\.lr/);
    const failedAt = Number(/at update (\d+)/.exec(err.message)![1]);
    const kept = readCheckpointInfo(path.join(err.summary.runDir, 'ckpt/last')).step;
    expect(kept).toBeLessThan(failedAt);
    expect(kept % 5).toBe(0);
    expect(err.summary.status).toBe('diverged');
    expect(tf.memory().numTensors).toBe(before);
    expect(JSON.parse(fs.readFileSync(path.join(err.summary.runDir, 'summary.json'), 'utf8')).status).toBe('diverged');
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s saves ckpt/last and stops cleanly, also when it arrives twice at once; the run resumes', async (signal) => {
    const s = await train(
      base({
        onStep: ({ step }) => {
          // Twice, as from a scheduler that signals both the launcher (which passes it on) and the
          // trainer: one request, not the second signal that kills.
          if (step === 7) for (let i = 0; i < 2; i++) process.kill(process.pid, signal);
        },
      }),
    );
    expect(s.status).toBe('interrupted');
    expect(s.steps).toBeGreaterThanOrEqual(7);
    expect(readCheckpointInfo(path.join(s.runDir, 'ckpt/last')).step).toBe(s.steps);
    expect(JSON.parse(fs.readFileSync(path.join(s.runDir, 'summary.json'), 'utf8')).status).toBe('interrupted');
    // Both handled before the run ended (the second was ignored), and the handlers are gone.
    await new Promise((r) => setTimeout(r, 50));
    expect(process.listenerCount('SIGINT')).toBe(0);
    expect(process.listenerCount('SIGTERM')).toBe(0);
    // Resumed, the record says running again from its first update on, not still interrupted.
    let resumedFirst: RunSummary | null = null;
    const r = await train(
      base({
        resume: s.runDir,
        onStep: () => {
          resumedFirst ??= JSON.parse(fs.readFileSync(path.join(s.runDir, 'summary.json'), 'utf8')) as RunSummary;
        },
      }),
    );
    expect(resumedFirst).toMatchObject({ status: 'running', pid: process.pid, steps: s.steps, lastLoss: s.lastLoss });
    expect(r.status).toBe('completed');
    expect(r.steps).toBe(60);
  });

  it('tensor memory does not grow from step to step', async () => {
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    await train(base({ sets: ['training.epochs=2', 'training.gradAccum=2', 'training.batchSize=8'], onStep: () => counts.push(tf.memory().numTensors) }));
    // Constant over every update but for the batches built ahead (2 tensors each): the first
    // ones of the next BATCHES_AHEAD updates within the epoch, and always the next update's.
    expect(counts.length).toBe(30);
    const perEpoch = 15;
    const aheadAfter = (u: number) => {
      const steps = new Set<number>();
      for (let a = 1; a <= BATCHES_AHEAD; a++) if (u + a < 30 && (u % perEpoch) + a < perEpoch) steps.add(u + a);
      if (u + 1 < 30) steps.add(u + 1);
      return steps.size;
    };
    const model = counts[0]! - 2 * aheadAfter(0);
    expect(counts).toEqual(counts.map((_, u) => model + 2 * aheadAfter(u)));
    expect(aheadAfter(0)).toBe(BATCHES_AHEAD);
    expect(tf.memory().numTensors).toBe(before); // model, optimiser and batches all released at the end
  });

  it('an invalid config fails before anything runs, and writes no run folder', async () => {
    const root = path.join(tmp, 'bad');
    await expect(train(base({ resultsRoot: root, sets: ['optimizer.lr=fast', 'training.bogus=1'] }))).rejects.toThrow(ConfigError);
    expect(fs.existsSync(root)).toBe(false);
  });
});
