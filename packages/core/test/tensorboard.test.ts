/**
 * TensorBoard event files read back by TensorBoard's own reader (EventAccumulator), installed
 * offline into a virtual environment from the machine's store of Python wheels: every scalar of
 * metrics.jsonl comes back with its tag, step and value, for a fresh run and for one stopped and
 * resumed (no duplicate steps), on wasm and cpu; the config comes back as text and the settings
 * through the HParams plugin.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { train, type TrainOptions } from '../src/train/trainer.ts';
import { REPO_ROOT, type MetricsLine, type RunSummary } from '../src/train/run-record.ts';
import { maskedCrc32c, scalarsOf, tfRecord } from '../src/train/tensorboard.ts';
import { initBackend, shutdownBackend } from './helpers/backend.ts';
import './fixtures/toy-task.ts'; // registers the example task, as the CLI's discovery would

const here = path.dirname(fileURLToPath(import.meta.url));
const configPath = path.join(here, 'fixtures/toy/configs/toy/blobs/mlp.yaml');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowformer-tensorboard-'));
afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await shutdownBackend();
});

/**
 * A Python with TensorBoard, built once per checkout into .cache/ from local wheels only
 * (`pip --no-index`): $FLOWFORMER_PYTHON_WHEELS, else /opt/pypi/files. Null when no wheel is there.
 */
function tensorboardPython(): { python: string | null; reason: string } {
  const wheels = process.env.FLOWFORMER_PYTHON_WHEELS ?? '/opt/pypi/files';
  const wheel = fs.existsSync(wheels) ? fs.readdirSync(wheels).find((f) => /^tensorboard-[\d.]+-py3-none-any\.whl$/.test(f)) : undefined;
  if (!wheel) return { python: null, reason: `no tensorboard wheel in ${wheels} (set FLOWFORMER_PYTHON_WHEELS)` };
  const venv = path.join(REPO_ROOT, '.cache', `tensorboard-venv-${wheel.replace(/\.whl$/, '')}`);
  const python = path.join(venv, 'bin', 'python');
  if (!fs.existsSync(path.join(venv, '.complete'))) {
    fs.rmSync(venv, { recursive: true, force: true });
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(python, ['-m', 'pip', 'install', '-q', '--no-index', '--find-links', wheels, path.join(wheels, wheel)], { stdio: 'inherit' });
    fs.writeFileSync(path.join(venv, '.complete'), wheel + '\n');
  }
  return { python, reason: '' };
}

/** What TensorBoard's reader finds in a tb/ folder: scalars by tag as [step, value], the config text, the hparams. */
interface ReadBack {
  scalars: Record<string, [number, number][]>;
  config: string;
  hparams: Record<string, number | string | boolean>;
}
const READER = `
import sys, json
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
acc = EventAccumulator(sys.argv[1], size_guidance={'scalars': 0, 'tensors': 0})
acc.Reload()
tags = acc.Tags()
out = {'scalars': {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags['scalars']}}
out['config'] = acc.Tensors('config')[0].tensor_proto.string_val[0].decode()
info = plugin_data_pb2.HParamsPluginData.FromString(acc.SummaryMetadata('_hparams_/session_start_info').plugin_data.content)
out['hparams'] = {k: getattr(v, v.WhichOneof('kind')) for k, v in info.session_start_info.hparams.items()}
print(json.dumps(out))
`;
function readBack(python: string, runDir: string): ReadBack {
  const tb = path.join(runDir, 'tb');
  return JSON.parse(execFileSync(python, ['-c', READER, tb], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as ReadBack;
}

/** Every scalar of metrics.jsonl, as float32 (the event's simple_value), by tag. */
function expectedScalars(lines: MetricsLine[]): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const l of lines) for (const [tag, v] of scalarsOf(l)) (out[tag] ??= []).push([l.step, Math.fround(v)]);
  return out;
}
const metricsOf = (s: RunSummary) =>
  fs
    .readFileSync(path.join(s.runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsLine);

describe('TFRecord framing', () => {
  it('masks CRC-32C as TensorFlow does', () => {
    // CRC-32C("123456789") is 0xE3069283 (the standard check value); masked: rotate right 15, add 0xA282EAD8.
    const crc = 0xe3069283;
    const masked = ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
    expect(maskedCrc32c(Buffer.from('123456789'))).toBe(masked);
  });
  it('frames a record as length, its CRC, the data, the data CRC', () => {
    const data = Buffer.from('an event');
    const r = tfRecord(data);
    expect(r.length).toBe(8 + 4 + data.length + 4);
    expect(Number(r.readBigUInt64LE(0))).toBe(data.length);
    expect(r.readUInt32LE(8)).toBe(maskedCrc32c(r.subarray(0, 8)));
    expect(r.subarray(12, 12 + data.length).equals(data)).toBe(true);
    expect(r.readUInt32LE(12 + data.length)).toBe(maskedCrc32c(data));
  });
});

const tb = tensorboardPython();
// In CI the wheel store is part of the machine: its absence is a failure, not a skip.
if (!tb.python && process.env.CI) throw new Error(`TensorBoard reader unavailable in CI: ${tb.reason}`);

describe.skipIf(!tb.python)(`event files read back by TensorBoard ${tb.reason}`, () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    const base = (extra: Partial<TrainOptions> = {}): TrainOptions => ({
      configPath,
      resultsRoot: path.join(tmp, backend),
      progress: false,
      log: () => {},
      handleSigint: false,
      sets: ['training.epochs=2'],
      ...extra,
    });

    it(`${backend}: a fresh run's every scalar, the config text and the hparams`, async () => {
      await initBackend(backend);
      const s = await train(base());
      const got = readBack(tb.python!, s.runDir);
      const want = expectedScalars(metricsOf(s));
      expect(Object.keys(want)).toEqual(expect.arrayContaining(['train/loss', 'train/lr', 'train/gradNorm', 'train/examplesPerSec', 'valid/accuracy', 'valid/loss', 'test/accuracy']));
      expect(got.scalars).toEqual(want);
      expect(got.config).toContain('task: toy');
      expect(got.hparams).toMatchObject({ task: 'toy', seed: 7, 'model.hidden': 32, 'optimizer.lr': 0.01, 'attention.type': 'flow' });
    });

    it(`${backend}: a run that crashed and resumed continues its curves without duplicate steps`, async () => {
      await initBackend(backend);
      // A crash at update 22: ckpt/last is from the evaluation at 15, but metrics.jsonl and tb/
      // already hold the training line of step 20. The resume truncates metrics.jsonl to 15 and
      // redoes 16-22; tb/ must follow, or TensorBoard shows step 20 twice.
      let runDir = '';
      const crash = train(
        base({
          log: (m) => void (m.startsWith('run ') && (runDir = m.slice(4).trim())),
          onStep: ({ step }) => {
            if (step === 22) throw new Error('simulated crash');
          },
        }),
      );
      await expect(crash).rejects.toThrow('simulated crash');
      expect(readBack(tb.python!, runDir).scalars['train/loss']!.map(([st]) => st)).toEqual([5, 10, 15, 20]);
      const s = await train(base({ resume: runDir, sets: undefined }));
      expect(s.status).toBe('completed');
      const got = readBack(tb.python!, s.runDir);
      expect(got.scalars).toEqual(expectedScalars(metricsOf(s)));
      for (const [tag, points] of Object.entries(got.scalars)) {
        const steps = points.map(([st]) => st);
        expect(new Set(steps).size, `${tag} has a duplicate step`).toBe(steps.length);
      }
      // The same curve as a run never stopped.
      const fresh = await train(base());
      expect(got.scalars['train/loss']).toEqual(readBack(tb.python!, fresh.runDir).scalars['train/loss']);
      expect(fs.readdirSync(path.join(s.runDir, 'tb')).filter((f) => f.includes('tfevents'))).toHaveLength(1);
    });
  }

  it('--no-tensorboard writes no tb/ folder', async () => {
    const s = await train({ configPath, resultsRoot: path.join(tmp, 'off'), progress: false, log: () => {}, handleSigint: false, sets: ['training.epochs=1'], tensorboard: false });
    expect(fs.existsSync(path.join(s.runDir, 'tb'))).toBe(false);
  });
});
