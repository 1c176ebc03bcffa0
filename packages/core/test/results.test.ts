import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { chartsSvg, lineChartSvg, niceTicks, svgToPng } from '../src/train/plot.ts';
import { gitCommit, readSummaryFile, recordedPath, repoRelativePaths, REPO_ROOT, resolveRecordedPath, RunRecord, runState, stateText, type RunSummary } from '../src/train/run-record.ts';
import { settingKey, settingKeyOf, supersededBy } from '../src/results/report.ts';
import { readRunSummaries, runsOfJob, tableJobs } from '../src/results/tables.ts';
import type { TableSpec } from '../src/results/table-spec.ts';

/** A one-row table as the uea task declares it (the core's tests know no task): JapaneseVowels, the Flowformer config. */
const jvTable: TableSpec = {
  name: 'uea', task: 'uea',
  rows: () => [{ row: 'JapaneseVowels', task: 'uea', config: 'configs/uea/JapaneseVowels/flowformer.yaml', configs: { flow: 'configs/uea/JapaneseVowels/flowformer.yaml' }, paperRow: 'JapaneseVowels' }],
  columns: () => [{ key: 'flow', attention: 'flow', kind: 'paper', paperMethod: 'Flowformer', recipe: 'configs/uea/<dataset>/flowformer.yaml', source: 'Flowformer_TimeSeries/scripts/flowformer.sh' }],
};
import { Progress } from '../src/train/progress.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowformer-results-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('plots', () => {
  it('nice ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 97)).toEqual([20, 40, 60, 80]);
  });

  it('draws series as SVG paths and renders a PNG with sharp', async () => {
    const svg = lineChartSvg([{ name: 'a<b', points: [[0, 1], [10, 0.5], [20, 0.25]] }, { name: 'one', points: [[5, 0.7]] }], { title: 'T', xLabel: 'x', yLabel: 'y' });
    expect(svg).toContain('<path d="M');
    expect(svg).toContain('<circle'); // a lone point is a dot
    expect(svg).toContain('a&lt;b'); // labels are escaped
    expect(lineChartSvg([], { title: 'empty', xLabel: '', yLabel: '' })).toContain('no data yet');
    const file = path.join(tmp, 'c.png');
    await svgToPng(chartsSvg([{ series: [{ name: 's', points: [[0, 1], [1, 2]] }], opts: { title: 'a', xLabel: 'x', yLabel: 'y', width: 300, height: 200 } }]), file);
    const m = await sharp(file).metadata();
    expect([m.format, m.width, m.height]).toEqual(['png', 300, 200]);
    // Not blank: the line's blue is there.
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    let blue = 0;
    for (let i = 0; i < data.length; i += info.channels) if (data[i]! < 100 && data[i + 2]! > 150) blue++;
    expect(blue).toBeGreaterThan(50);
  });
});

describe('run records', () => {
  it('creates unique run folders and keeps metrics in order', async () => {
    const now = new Date('2026-01-02T03:04:05Z');
    const a = RunRecord.create(tmp, 'toy', 'blobs-mlp', 7, now);
    const b = RunRecord.create(tmp, 'toy', 'blobs-mlp', 7, now);
    expect(path.relative(tmp, a.dir)).toBe(path.join('runs', 'toy', 'blobs-mlp', '20260102-030405-s7'));
    expect(b.runId).toBe('20260102-030405-s7-2');
    for (let s = 1; s <= 4; s++) a.appendMetrics({ type: 'train', step: s, loss: 1 / s });
    a.appendMetrics({ type: 'eval', step: 4, split: 'valid', accuracy: 0.5, loss: 0.9 });
    a.appendMetrics({ type: 'test', step: 4, split: 'test', accuracy: 0.4 });
    fs.appendFileSync(a.metricsPath, '{"type":"train","st'); // a line cut by a crash
    expect(a.readMetrics()).toHaveLength(6);
    a.truncateMetrics(2);
    expect(a.readMetrics().map((l) => l.step)).toEqual([1, 2]);
    await a.writeCurves('accuracy', 'toy');
    expect((await sharp(a.curvesPath).metadata()).format).toBe('png');
  });

  it('records the git commit of the repository', () => {
    const c = gitCommit(path.dirname(new URL(import.meta.url).pathname));
    expect(c).toMatch(/^[0-9a-f]{40}(-dirty)?$/);
    expect(gitCommit(os.tmpdir())).toBeNull();
  });

  it('counts modified code as dirty, but not rewritten outputs under results/', () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'flowformer-git-'));
    try {
      const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: repo, stdio: 'pipe' });
      git('init', '-q');
      fs.mkdirSync(path.join(repo, 'results/tables'), { recursive: true });
      fs.mkdirSync(path.join(repo, 'packages'));
      fs.writeFileSync(path.join(repo, 'results/tables/t.md'), 'a\n');
      fs.writeFileSync(path.join(repo, 'packages/code.ts'), 'a\n');
      git('add', '.');
      git('commit', '-qm', 'x');
      const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo }).toString().trim();
      fs.writeFileSync(path.join(repo, 'results/tables/t.md'), 'b\n');
      expect(gitCommit(path.join(repo, 'packages'))).toBe(head); // from a subfolder too
      fs.writeFileSync(path.join(repo, 'packages/code.ts'), 'b\n');
      expect(gitCommit(repo)).toBe(`${head}-dirty`);
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });
});

describe('progress', () => {
  const state = { step: 30, total: 120, loss: 1.23456, lr: 3e-4, rate: 812.4, unit: 'ex/s' as const, secondsPerStep: 0.5 };
  const sink = () => {
    const out: string[] = [];
    return { out, stream: { write: (s: string) => out.push(s) > 0, isTTY: false } as unknown as NodeJS.WritableStream };
  };

  it('redraws one line on a terminal, with bar, loss, lr, throughput and ETA', () => {
    const { out, stream } = sink();
    const p = new Progress({ stream, tty: true });
    p.update(state);
    p.log('eval @ 30: accuracy 0.5');
    p.update({ ...state, step: 31 });
    p.done();
    expect(out[0]).toBe('\rstep 30/120 [#####...............]  25% | loss 1.2346 | lr 3.00e-4 | 812 ex/s | ETA 45s\x1b[K');
    expect(out[1]).toBe('\r\x1b[K'); // the bar is cleared before a message
    expect(out.at(-1)).toBe('\n');
  });

  it('prints plain periodic lines when stderr is not a terminal (CI logs)', () => {
    const { out, stream } = sink();
    const p = new Progress({ stream, plainEverySeconds: 3600 });
    p.update(state);
    p.update({ ...state, step: 31 }); // within the period: not printed
    p.update({ ...state, step: 120, secondsPerStep: 0.5 }); // the last step always is
    expect(out).toEqual(['step 30/120  25% | loss 1.2346 | lr 3.00e-4 | 812 ex/s | ETA 45s\n', 'step 120/120 100% | loss 1.2346 | lr 3.00e-4 | 812 ex/s | ETA 0s\n']);
    expect(out.join('')).not.toContain('\r');
  });
});

describe('runState', () => {
  it("a 'running' record of this machine whose process is gone is abandoned; a live one, another machine's, or one without a pid stays running", () => {
    const host = os.hostname();
    expect(runState({ status: 'running', pid: process.pid, host })).toBe('running');
    const gone = spawnSync(process.execPath, ['-e', '']).pid!; // a process that has exited
    expect(runState({ status: 'running', pid: gone, host })).toBe('abandoned');
    expect(runState({ status: 'running', pid: gone, host: `${host}-elsewhere` })).toBe('running'); // cannot be told from here
    expect(runState({ status: 'running' })).toBe('running'); // a record from before records named their process
    expect(runState({ status: 'interrupted', pid: gone, host })).toBe('interrupted'); // an ending status is taken as written
    expect(runState({ status: 'running', pid: 12345, host }, () => false)).toBe('abandoned');
    expect(stateText('abandoned')).toBe('abandoned (its process is gone)');
  });
});

describe('supersededBy', () => {
  const rec = (o: Partial<RunSummary>) =>
    ({ task: 'uea', configName: 'SCP1-flowformer', configPath: 'configs/uea/SelfRegulationSCP1/flowformer.yaml', attention: 'flow', seed: 666, command: 'flowformer train -c x --set seed=666', status: 'interrupted', startedAt: '2026-11-29T02:19:34Z', ...o }) as RunSummary;
  it('names the earliest later completed run of the same setting; other settings, earlier runs and completed records are never superseded', () => {
    const cut = rec({});
    const done = rec({ status: 'completed', startedAt: '2026-11-30T02:30:12Z', command: 'flowformer train -c x --no-progress' });
    const again = rec({ status: 'completed', startedAt: '2026-12-01T00:00:00Z' });
    expect(supersededBy(cut, [again, cut, done])).toBe(done); // --set seed and --no-progress do not change the setting
    expect(supersededBy(done, [cut, done, again])).toBeUndefined(); // completed itself
    expect(supersededBy(cut, [rec({ status: 'completed', startedAt: '2026-11-28T00:00:00Z' })])).toBeUndefined(); // earlier
    expect(supersededBy(cut, [{ ...done, seed: 667 }])).toBeUndefined();
    expect(supersededBy(cut, [{ ...done, attention: 'softmax' }])).toBeUndefined();
    expect(supersededBy(cut, [{ ...done, command: 'flowformer train -c x --set training.epochs=20' }])).toBeUndefined();
    expect(supersededBy(cut, [{ ...done, configPath: 'configs/uea/SelfRegulationSCP1/flowformer-holdout.yaml' }])).toBeUndefined();
    // The same config file named relative to the repository and absolute is one setting.
    expect(supersededBy(cut, [{ ...done, configPath: path.join(REPO_ROOT, 'configs/uea/SelfRegulationSCP1/flowformer.yaml') }])).toBeDefined();
    const live = rec({ status: 'running', startedAt: '2026-11-30T05:56:41Z' });
    expect(supersededBy(cut, [live])).toBeUndefined(); // only completed runs by default
    expect(supersededBy(cut, [live], (r) => r.status === 'running')).toBe(live);
  });
});

describe('settingKey', () => {
  const run = (command: string) => ({ configPath: 'configs/uea/JapaneseVowels/flowformer.yaml', attention: 'flow', command });
  it('ignores the order of --sets, seed, attention.type and flags; the last value of a key wins', () => {
    const k = settingKey(run('flowformer train -c c.yaml --set a=1 --set b=2 --no-progress'));
    expect(settingKey(run('flowformer train --set b=2 --set=a=1 --set seed=3 --set attention.type=flow'))).toBe(k);
    expect(settingKey(run('flowformer train --set a=0 --set b=2 --set a=1'))).toBe(k);
    expect(settingKey(run('flowformer train --set a=1 --set b=2 --set a=0'))).not.toBe(k);
    expect(settingKey(run('flowformer train --set a=1'))).not.toBe(k);
    expect(settingKey({ ...run('flowformer train --set a=1 --set b=2'), attention: 'softmax' })).not.toBe(k);
    expect(settingKeyOf('configs/uea/JapaneseVowels/flowformer.yaml', 'flow', ['b=2', 'a=1', 'seed=5'])).toBe(k);
  });
});

describe('records read in another clone', () => {
  it('recordedPath: relative to the repository inside it, absolute outside', () => {
    expect(recordedPath(path.join(REPO_ROOT, 'configs/uea/SelfRegulationSCP1/flowformer.yaml'))).toBe('configs/uea/SelfRegulationSCP1/flowformer.yaml');
    expect(recordedPath(path.join(tmp, 'x.yaml'))).toBe(path.join(tmp, 'x.yaml'));
    expect(recordedPath(REPO_ROOT)).toBe(REPO_ROOT);
    expect(recordedPath('/r/configs/a.yaml', '/r')).toBe('configs/a.yaml');
    // Within strings too: files joined with ' + ', command lines; never a longer root or a path that merely contains it.
    const rel = repoRelativePaths('/r');
    expect(rel('', '/r/a.arff + /r/b.arff')).toBe('a.arff + b.arff');
    expect(rel('', 'flowformer train --config /r/c.yaml --results-root=/r/results')).toBe('flowformer train --config c.yaml --results-root=results');
    expect(rel('', '/rx/a /elsewhere/r/a')).toBe('/rx/a /elsewhere/r/a');
    expect(rel('', 3)).toBe(3);
  });

  it("runDir is where summary.json lies and configPath resolves here, also another checkout's absolute path", () => {
    // A clone in tmp holding a record written in /elsewhere/flowformer-ts.
    const clone = path.join(tmp, 'clone');
    const runDir = path.join(clone, 'results/runs/uea/JapaneseVowels-flowformer/20261201-000000-s666');
    fs.mkdirSync(runDir, { recursive: true });
    fs.mkdirSync(path.join(clone, 'configs/uea/JapaneseVowels'), { recursive: true });
    fs.writeFileSync(path.join(clone, 'configs/uea/JapaneseVowels/flowformer.yaml'), 'task: uea\n');
    const summary = { task: 'uea', attention: 'flow', seed: 666, status: 'completed', command: 'flowformer train -c configs/uea/JapaneseVowels/flowformer.yaml' };
    const write = (configPath: string) =>
      fs.writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify({ ...summary, configPath, runDir: '/elsewhere/flowformer-ts/results/runs/uea/JapaneseVowels-flowformer/20261201-000000-s666' }));
    const here = path.join(clone, 'configs/uea/JapaneseVowels/flowformer.yaml');
    for (const recorded of ['configs/uea/JapaneseVowels/flowformer.yaml', '/elsewhere/flowformer-ts/configs/uea/JapaneseVowels/flowformer.yaml']) {
      write(recorded);
      const s = readSummaryFile(path.join(runDir, 'summary.json'), clone);
      expect(s.runDir).toBe(runDir);
      expect(s.configPath).toBe(here);
      expect(new RunRecord(runDir).readSummary(clone)).toEqual(s);
      expect(readRunSummaries(path.join(clone, 'results'), clone)).toEqual([s]);
      // ... so a table job of that clone finds the run.
      const job = tableJobs({ table: 'uea', scale: 'paper', attentions: ['flow'], repoRoot: REPO_ROOT, specs: [jvTable] }).find((j) => j.row === 'JapaneseVowels')!;
      expect(runsOfJob(job, [s], clone)).toEqual([s]);
    }
    // An absolute path with no counterpart here stays as it was.
    expect(resolveRecordedPath('/elsewhere/flowformer-ts/configs/uea/Nope/x.yaml', clone)).toBe('/elsewhere/flowformer-ts/configs/uea/Nope/x.yaml');
    expect(resolveRecordedPath('/elsewhere/x.yaml', clone)).toBe('/elsewhere/x.yaml');
  });

  it('the committed records store their paths relative to the repository', () => {
    const runs = readRunSummaries(path.join(REPO_ROOT, 'results'));
    for (const dir of runs.map((r) => r.runDir)) {
      const raw = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as RunSummary;
      expect(path.isAbsolute(raw.configPath), `${dir}/summary.json configPath ${raw.configPath}`).toBe(false);
      expect(raw.runDir, `${dir}/summary.json runDir`).toBe(path.relative(REPO_ROOT, dir));
      const strings = (v: unknown): string[] => (typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : []);
      expect(strings(raw).filter((x) => x.includes(REPO_ROOT + path.sep)), `${dir}/summary.json`).toEqual([]); // dataInfo's files and commands too
    }
  });
});
