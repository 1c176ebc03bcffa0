/** bench step --peer: a peer's step is read, checked to be the same step, and compared line by line. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStepPeer, stepComparisons, type StepBenchResult } from '../src/bench/step.ts';

const ours: StepBenchResult = {
  config: 'configs/uea/SelfRegulationSCP1/flowformer.yaml',
  task: 'uea',
  dataset: 'SelfRegulationSCP1',
  params: 7_685_634,
  batchSize: 16,
  rssBeforeBytes: 2 ** 29,
  update: true,
  rows: [{ backward: 'ours', batchSize: 16, medianMs: 6000, medianCpuMs: 10000, peakBytes: 3 * 2 ** 30, rssHighWaterBytes: 3.5 * 2 ** 30 }],
};

function peerFile(p: object): string {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'step-peer-')), 'peer.json');
  fs.writeFileSync(f, JSON.stringify(p));
  return f;
}
const peer = { command: 'python3 step.py --mode update', torch: '1.13.1', threads: 2, mode: 'update', batch: 16, median_s: 8, median_cpu_s: 12, max_resident_bytes: 4 * 2 ** 30 };

describe('bench step --peer', () => {
  it('compares wall time (goal 0.8x), CPU time and peak resident memory (goal 1x)', () => {
    const p = readStepPeer(peerFile(peer), { batchSize: 16, update: true });
    const c = stepComparisons(ours, p, 'SCP1 step');
    expect(c.map((x) => [x.work, x.ours, x.peerValue, x.goal])).toEqual([
      ['SCP1 step, batch 16, forward + backward + update: wall time', 6, 8, 0.8],
      ['SCP1 step, batch 16, forward + backward + update: CPU time', 10, 12, undefined],
      ['SCP1 step, batch 16, forward + backward + update: peak resident memory', 3.5, 4, 1],
    ]);
  });
  it('refuses a peer that timed another step, naming the file and the difference', () => {
    expect(() => readStepPeer(peerFile({ ...peer, batch: 8 }), { batchSize: 16, update: true })).toThrow(/peer ran batch 8, ours 16/);
    expect(() => readStepPeer(peerFile({ ...peer, mode: 'fwdbwd' }), { batchSize: 16, update: true })).toThrow(/excludes the optimiser update and ours includes it/);
    expect(() => readStepPeer(peerFile({ ...peer, median_s: 'slow' }), { batchSize: 16, update: true })).toThrow(/peer\.json: field 'median_s' must be a number/);
  });
});
