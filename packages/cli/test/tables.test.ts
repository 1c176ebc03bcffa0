/**
 * The tables the task packages declare, as the CLI sees them (discovered, as `flowformer` does):
 * every job points at a shipped config, and tables built from fake run records put ours (mean
 * ± std over seeds) beside the paper's, with 'not run' where no run exists.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { paperValue, planTable, tableNames, tableSpecs, tableJobs, tableRows, tableTask, buildTable, tableMarkdown, writeTable, runValue, runOverrides, interruptedRunOfJob, runningRunOfJob, runsOfJob, strandedRunOfJob, type RunSummary, type Scale } from '@flowformer/core/results';
import { discoverTasks } from '../src/discover.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
await discoverTasks(); // registers every task package, as the CLI does before any command

describe('tableJobs', () => {
  it('every job of every table and scale names a config file that exists', () => {
    // LRA's paper baselines (configs/lra/<task>/{transformer,performer,reformer}-lra.yaml) are
    // written on another branch: until they land, this names each missing file.
    for (const table of tableNames())
      for (const scale of ['paper', 'mini'] as Scale[]) {
        const jobs = tableJobs({ table, scale, attentions: ['flow', 'softmax', 'performer', 'reformer'], seeds: [0, 1] });
        expect(jobs.length, `${table} ${scale}`).toBeGreaterThan(0);
        for (const j of jobs) expect(fs.existsSync(path.join(repoRoot, j.config)), j.config).toBe(true);
        expect(new Set(jobs.map((j) => j.id)).size).toBe(jobs.length);
      }
  });

  it('one job per row x attention x seed; fixed-config rows only for their attentions', () => {
    expect(tableJobs({ table: 'lra', scale: 'paper' })).toHaveLength(5 * 4);
    expect(tableJobs({ table: 'uea', scale: 'paper', seeds: [0, 1, 2] })).toHaveLength(10 * 4 * 3);
    expect(tableJobs({ table: 'd4rl', scale: 'paper', attentions: ['flow'] })).toHaveLength(9);
    // imagenet-1k: 4 attentions; DeiT-S row: flow and softmax only.
    const im = tableJobs({ table: 'imagenet', scale: 'paper' });
    expect(im.filter((j) => j.row === 'imagenet-1k-deit-s').map((j) => j.config).sort()).toEqual(['configs/imagenet/imagenet-1k/deit-s-flow.yaml', 'configs/imagenet/imagenet-1k/deit-s.yaml']);
    expect(tableJobs({ table: 'lra', scale: 'mini', only: ['text'], attentions: ['performer'], seeds: [0] })[0]!.sets).toEqual(['attention.type=performer', 'seed=0']);
    const withSets = tableJobs({ table: 'lra', scale: 'mini', attentions: ['flow'], seeds: [0], sets: ['image:data.dir=cifar10', 'training.steps=10'] });
    expect(withSets.find((j) => j.row === 'image')!.sets).toEqual(['attention.type=flow', 'seed=0', 'data.dir=cifar10', 'training.steps=10']);
    expect(withSets.find((j) => j.row === 'text')!.sets).toEqual(['attention.type=flow', 'seed=0', 'training.steps=10']);
    const main = tableJobs({ table: 'main', scale: 'mini' });
    expect(new Set(main.map((j) => j.table))).toEqual(new Set(['lra', 'imagenet', 'wikitext', 'uea', 'd4rl']));
  });

  it("without --seeds each job runs its config's own seed: and sets none", () => {
    const uea = tableJobs({ table: 'uea', scale: 'mini', only: ['JapaneseVowels'] });
    expect(uea.map((j) => [j.id, j.config, j.sets.join(' ')])).toEqual([
      ['uea-JapaneseVowels-flow-s666', 'configs/uea/JapaneseVowels/mini.yaml', 'attention.type=flow'],
      ['uea-JapaneseVowels-softmax-s666', 'configs/uea/JapaneseVowels/mini.yaml', 'attention.type=softmax'],
      ['uea-JapaneseVowels-performer-s666', 'configs/uea/JapaneseVowels/mini.yaml', 'attention.type=performer'],
      ['uea-JapaneseVowels-reformer-s666', 'configs/uea/JapaneseVowels/mini.yaml', 'attention.type=reformer'],
    ]);
    // The UEA paper table declares three seeds per cell (issue 40.6): the config's own 666 with no
    // override, so a plain `flowformer train --config` run fills it, then 667 and 668.
    const paperJobs = tableJobs({ table: 'uea', scale: 'paper', only: ['JapaneseVowels'], attentions: ['flow', 'softmax'] });
    expect(paperJobs.map((j) => [j.id, j.config, j.sets.join(' ')])).toEqual([
      ['uea-JapaneseVowels-flow-s666', 'configs/uea/JapaneseVowels/flowformer.yaml', ''],
      ['uea-JapaneseVowels-flow-s667', 'configs/uea/JapaneseVowels/flowformer.yaml', 'seed=667'],
      ['uea-JapaneseVowels-flow-s668', 'configs/uea/JapaneseVowels/flowformer.yaml', 'seed=668'],
      ['uea-JapaneseVowels-softmax-s666', 'configs/uea/JapaneseVowels/transformer.yaml', ''],
      ['uea-JapaneseVowels-softmax-s667', 'configs/uea/JapaneseVowels/transformer.yaml', 'seed=667'],
      ['uea-JapaneseVowels-softmax-s668', 'configs/uea/JapaneseVowels/transformer.yaml', 'seed=668'],
    ]);
    // seeds of other tasks' configs (written in a base config or the file itself; 0 when none is written)
    expect(tableJobs({ table: 'lra', scale: 'mini', only: ['listops'], attentions: ['flow'] })[0]!.seed).toBe(0);
    expect(tableJobs({ table: 'd4rl', scale: 'paper', only: ['hopper-medium'], attentions: ['softmax'] })[0]).toMatchObject({ seed: 1, config: 'configs/d4rl/hopper-medium/softmax.yaml', sets: [] });
    expect(tableJobs({ table: 'wikitext', scale: 'paper', attentions: ['softmax'] })[0]).toMatchObject({ seed: 1, config: 'configs/wikitext/wikitext-103/transformer.yaml' });
    // --seeds as before: one job per seed, each with its --set seed=
    const seeded = tableJobs({ table: 'uea', scale: 'paper', only: ['JapaneseVowels'], attentions: ['softmax'], seeds: [0, 1, 2] });
    expect(seeded.map((j) => [j.id, j.sets.join(' ')])).toEqual([
      ['uea-JapaneseVowels-softmax-s0', 'seed=0'], ['uea-JapaneseVowels-softmax-s1', 'seed=1'], ['uea-JapaneseVowels-softmax-s2', 'seed=2'],
    ]);
    // the DeiT-S row fixes both its columns and has no fallback: no performer job
    expect(tableJobs({ table: 'imagenet', scale: 'paper', attentions: ['performer'] }).map((j) => j.row)).toEqual(['imagenet-1k']);
    expect(tableRows('uea', 'mini').every((r) => !r.configs)).toBe(true); // mini rows: one config, attention overridden
    expect(tableTask('uea')).toBe('uea');
  });
});

function fakeRun(root: string, o: { config: string; attention: string; seed: number; task: string; metric: string; value: number; status?: string; testValue?: number }): RunSummary {
  const runId = `20260101-000000-s${o.seed}-${o.attention}`;
  const runDir = path.join(root, 'runs', o.task, path.basename(path.dirname(o.config)), runId);
  const s = {
    task: o.task, dataset: 'x', model: 'm', attention: o.attention, configName: 'c', configPath: path.join(repoRoot, o.config), runId, runDir,
    status: o.status ?? 'completed', metric: { name: o.metric, mode: 'max', split: 'valid' },
    best: { value: o.value, step: 10, epoch: 1, metrics: { [o.metric]: o.value } }, final: null,
    test: o.testValue === undefined ? null : { step: 10, metrics: { [o.metric]: o.testValue } },
    steps: 10, totalSteps: 10, epochs: 1, lastLoss: 1, params: 1, wallSeconds: 1, backend: 'cpu', seed: o.seed, command: 'flowformer train', gitCommit: null,
    dataInfo: { dir: '/data/x' }, startedAt: '', finishedAt: '',
  } as RunSummary;
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify(s));
  return s;
}

describe('interruptedRunOfJob', () => {
  it('finds the latest interrupted or stopped run of the same job and extra sets that has its ckpt/last, so reproduce resumes it', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-tables-'));
    const [job] = tableJobs({ table: 'lra', scale: 'mini', only: ['listops'], attentions: ['flow'] });
    const cfg = { config: 'configs/lra/listops/mini.yaml', attention: 'flow', seed: 0, task: 'lra', metric: 'accuracy', value: 0.3 };
    const done = fakeRun(tmp, cfg);
    expect(interruptedRunOfJob(job!, [done], repoRoot)).toBeUndefined(); // completed: nothing to resume
    const cut = { ...fakeRun(tmp, { ...cfg, status: 'interrupted' }), command: 'flowformer train -c x --set attention.type=flow' };
    // a record without its ckpt/last (committed, or copied from another machine) cannot be resumed: reproduce starts it again
    expect(interruptedRunOfJob(job!, [done, cut], repoRoot)).toBeUndefined();
    // ... and is named as stranded, so reproduce can say why the job starts over
    expect(strandedRunOfJob(job!, [done, cut], repoRoot)).toBe(cut);
    fs.mkdirSync(path.join(cut.runDir, 'ckpt', 'last'), { recursive: true });
    fs.writeFileSync(path.join(cut.runDir, 'ckpt', 'last', 'manifest.json'), '{}');
    expect(interruptedRunOfJob(job!, [done, cut], repoRoot)).toBe(cut);
    expect(strandedRunOfJob(job!, [done, cut], repoRoot)).toBeUndefined();
    expect(strandedRunOfJob(job!, [done], repoRoot)).toBeUndefined(); // completed: not stranded
    // another setting (an extra --set the job does not have) is not this job's run
    const other = { ...cut, command: 'flowformer train -c x --set attention.type=flow --set training.steps=5' };
    expect(interruptedRunOfJob(job!, [other], repoRoot)).toBeUndefined();
    expect(interruptedRunOfJob({ ...job!, attention: 'softmax' }, [cut], repoRoot)).toBeUndefined();
  });

  it('resumes an abandoned run (running on this machine, process gone) only when it wrote ckpt/last', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-tables-'));
    const [job] = tableJobs({ table: 'lra', scale: 'mini', only: ['listops'], attentions: ['flow'] });
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    const dead = { ...fakeRun(tmp, { config: 'configs/lra/listops/mini.yaml', attention: 'flow', seed: 0, task: 'lra', metric: 'accuracy', value: 0.3, status: 'running' }), pid: gone, host: os.hostname() };
    expect(interruptedRunOfJob(job!, [dead], repoRoot)).toBeUndefined(); // nothing to resume from
    fs.mkdirSync(path.join(dead.runDir, 'ckpt', 'last'), { recursive: true });
    fs.writeFileSync(path.join(dead.runDir, 'ckpt', 'last', 'manifest.json'), '{}');
    expect(interruptedRunOfJob(job!, [dead], repoRoot)).toBe(dead);
    expect(interruptedRunOfJob(job!, [{ ...dead, pid: process.pid }], repoRoot)).toBeUndefined(); // alive: not ours to resume
    // alive: running, so reproduce leaves the job alone; dead: not running
    const alive = { ...dead, pid: process.pid };
    expect(runningRunOfJob(job!, [dead, alive], repoRoot)).toBe(alive);
    expect(runningRunOfJob(job!, [dead], repoRoot)).toBeUndefined();
    expect(runningRunOfJob({ ...job!, seed: 1 }, [alive], repoRoot)).toBeUndefined();
    const t = buildTable({ table: 'lra', scale: 'mini', seeds: [0], attentions: ['flow'], only: ['listops'], runs: [dead], repoRoot });
    expect(t.rows[0]!.cells[0]!.status).toBe('not finished: seed 0 abandoned (its process is gone) at update 10 of 10, best valid accuracy so far 30.00');
  });
});

describe('runsOfJob', () => {
  it('a completed run fills a job only with the same extra --sets (in any order), so another protocol never lands in the cell', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-tables-'));
    const [paper] = tableJobs({ table: 'uea', scale: 'mini', only: ['Handwriting'], attentions: ['flow'], seeds: [666] });
    const cfg = { config: 'configs/uea/Handwriting/mini.yaml', attention: 'flow', seed: 666, task: 'uea', metric: 'accuracy', value: 0.3 };
    const plain = { ...fakeRun(tmp, cfg), command: 'flowformer train -c x --set attention.type=flow --set seed=666 --no-progress' };
    const holdout = { ...fakeRun(tmp, cfg), runId: '20260102-000000-s666', command: 'flowformer train -c x --set attention.type=flow --set seed=666 --set data.protocol=holdout --set evaluation.split=valid' };
    // the holdout run is the later one, but it is another setting: the paper-protocol job takes the plain run
    expect(runsOfJob(paper!, [plain, holdout], repoRoot)).toEqual([plain]);
    const [held] = tableJobs({ table: 'uea', scale: 'mini', only: ['Handwriting'], attentions: ['flow'], seeds: [666], sets: ['evaluation.split=valid', 'data.protocol=holdout'] });
    expect(runsOfJob(held!, [plain, holdout], repoRoot)).toEqual([holdout]);
    // a row-scoped set (`image:data.dir=cifar10`) matches the hand-made run that passed it
    const [image] = tableJobs({ table: 'lra', scale: 'mini', only: ['image'], attentions: ['flow'], sets: ['image:data.dir=cifar10'] });
    const imageRun = { ...fakeRun(tmp, { ...cfg, config: 'configs/lra/image/mini.yaml', seed: 0, task: 'lra' }), command: 'flowformer train -c configs/lra/image/mini.yaml --data-root ../shared/data --set data.dir=cifar10' };
    expect(runsOfJob(image!, [imageRun], repoRoot)).toEqual([imageRun]);
    expect(runsOfJob({ ...image!, sets: [] }, [imageRun], repoRoot)).toEqual([]);
    // and the table says which sets it was built with
    const md = tableMarkdown(buildTable({ table: 'lra', scale: 'mini', attentions: ['flow'], sets: ['image:data.dir=cifar10'], runs: [imageRun], repoRoot }));
    expect(md).toContain('`flowformer reproduce --table lra --scale mini --set image:data.dir=cifar10`');
    expect(md).toMatch(/\| image \| 30\.00 \|/);
  });
});

describe('the main table', () => {
  it('summarises a benchmark whose average is incomplete by the rows run in every column, and says so', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-tables-'));
    const run = (attention: string, config: string, v: number) => fakeRun(tmp, { config, attention, seed: 0, task: 'lra', metric: 'accuracy', value: v, testValue: v });
    const runs = [
      run('flow', 'configs/lra/listops/mini.yaml', 0.34), run('softmax', 'configs/lra/listops/mini.yaml', 0.3),
      run('flow', 'configs/lra/image/mini.yaml', 0.22), // image: flow only, so it is left out of both columns
    ];
    const t = buildTable({ table: 'main', scale: 'mini', attentions: ['flow', 'softmax'], runs, repoRoot });
    const lra = t.rows.find((r) => r.row === 'lra')!;
    expect(lra.cells.map((c) => c.ours?.mean)).toEqual([34, 30]);
    expect(lra.cells[0]!.status).toBe('partial: mean of listops');
    expect(lra.cells[0]!.paper).toBe(56.48);
    expect(lra.note).toContain('mean over listops only');
    expect(t.rows.find((r) => r.row === 'uea')!.cells[0]!.ours).toBeNull(); // nothing ran: not run
  });
});

describe('buildTable', () => {
  it('ours (mean ± std over seeds, in %) beside the paper; not run where nothing ran; the average only when complete', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-tables-'));
    const runs = [
      fakeRun(tmp, { config: 'configs/lra/listops/mini.yaml', attention: 'flow', seed: 0, task: 'lra', metric: 'accuracy', value: 0.3, testValue: 0.34 }),
      fakeRun(tmp, { config: 'configs/lra/listops/mini.yaml', attention: 'flow', seed: 1, task: 'lra', metric: 'accuracy', value: 0.3, testValue: 0.38 }),
      fakeRun(tmp, { config: 'configs/lra/listops/mini.yaml', attention: 'softmax', seed: 0, task: 'lra', metric: 'accuracy', value: 0.9, status: 'diverged' }),
    ];
    expect(runValue(runs[0]!)).toBeCloseTo(34);
    expect(runOverrides('flowformer train -c x.yaml --set attention.type=flow --set training.steps=30 --set=data.dir=cifar10 --set seed=1')).toEqual(['training.steps=30', 'data.dir=cifar10']);
    const t = buildTable({ table: 'lra', scale: 'mini', seeds: [0, 1], attentions: ['flow', 'softmax'], runs, repoRoot });
    const listops = t.rows.find((r) => r.row === 'listops')!;
    const flow = listops.cells[0]!;
    expect(flow.ours!.mean).toBeCloseTo(36);
    expect(flow.ours!.std).toBeCloseTo(Math.sqrt(8)); // sample std of 34, 38
    expect(flow.status).toBe('ok');
    expect(flow.paper).toBe(38.7);
    expect(flow.ours!.runs.map((r) => r.seed)).toEqual([0, 1]);
    // a diverged run is not a result
    expect(listops.cells[1]!.ours).toBeNull();
    expect(listops.cells[1]!.status).toBe('not run');
    expect(listops.cells[1]!.paper).toBe(36.37);
    const avg = t.rows.find((r) => r.row === 'average')!;
    expect(avg.cells[0]!.ours).toBeNull();
    expect(avg.cells[0]!.paper).toBe(56.48);
    const md = tableMarkdown(t);
    expect(md).toMatch(/\| listops \| 36\.00 ± 2\.83 \| 38\.70 \| not run \| 36\.37 \|/);
    expect(md).toContain(runs[1]!.runDir);
    const files = writeTable(path.join(tmp, 'tables'), t);
    expect(path.basename(files.md)).toBe('lra-mini.md');
    expect(JSON.parse(fs.readFileSync(files.json, 'utf8')).rows).toHaveLength(6);
    // Paths inside the repository are written relative to it, so a clone elsewhere writes the same JSON.
    const clone = path.join(tmp, 'clone');
    const inClone = { ...t, here: { task: 'lra', title: 'runs', markdown: '', json: { runDirs: [path.join(clone, 'results/runs/lra/x/1'), '/elsewhere/y'] } } };
    const again = JSON.parse(fs.readFileSync(writeTable(path.join(tmp, 'tables'), inClone, clone).json, 'utf8'));
    expect(again.here.data.runDirs).toEqual(['results/runs/lra/x/1', '/elsewhere/y']);
  });

  it('an interrupted or running run of a seed is named in its cell with how far it got, and never counted', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-tables-'));
    const cfg = { config: 'configs/lra/listops/mini.yaml', task: 'lra', metric: 'accuracy' };
    const runs = [
      fakeRun(tmp, { ...cfg, attention: 'flow', seed: 0, value: 0.3, testValue: 0.34 }),
      { ...fakeRun(tmp, { ...cfg, attention: 'flow', seed: 1, value: 0.31, status: 'interrupted' }), steps: 137, totalSteps: 1700 },
      { ...fakeRun(tmp, { ...cfg, attention: 'softmax', seed: 0, value: 0.25, status: 'running' }), steps: 40, totalSteps: 1700 },
      { ...fakeRun(tmp, { ...cfg, attention: 'softmax', seed: 1, value: 0, status: 'stopped' }), steps: 2, totalSteps: 1700, best: null },
    ];
    const t = buildTable({ table: 'lra', scale: 'mini', seeds: [0, 1], attentions: ['flow', 'softmax'], only: ['listops'], runs, repoRoot });
    const [flow, softmax] = t.rows[0]!.cells;
    expect(flow!.ours!.values).toEqual([34]); // the interrupted seed adds nothing
    expect(flow!.status).toBe('partial: 1 of 2 seeds; seed 1 interrupted at update 137 of 1700, best valid accuracy so far 31.00');
    expect(flow!.unfinished).toEqual([expect.objectContaining({ seed: 1, status: 'interrupted', steps: 137, totalSteps: 1700, bestSoFar: 31 })]);
    expect(softmax!.ours).toBeNull();
    expect(softmax!.status).toBe('not finished: seed 0 running at update 40 of 1700, best valid accuracy so far 25.00; seed 1 stopped at update 2 of 1700, no evaluation yet');
    expect(tableMarkdown(t)).toContain('| listops | 34.00 (partial: 1 of 2 seeds; seed 1 interrupted');
    // once the seed completes, its unfinished run is no longer mentioned
    const done = fakeRun(tmp, { ...cfg, attention: 'flow', seed: 1, value: 0.3, testValue: 0.38 });
    const t2 = buildTable({ table: 'lra', scale: 'mini', seeds: [0, 1], attentions: ['flow'], only: ['listops'], runs: [...runs, done], repoRoot });
    expect(t2.rows[0]!.cells[0]!.status).toBe('ok');
    expect(t2.rows[0]!.cells[0]!.unfinished).toBeUndefined();
  });

  it("a run made without reproduce (the config's own seed, no --set) fills its cell; the task's section goes below the table and under here in the JSON", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-tables-'));
    const runs = [
      fakeRun(tmp, { config: 'configs/uea/JapaneseVowels/flowformer.yaml', attention: 'flow', seed: 666, task: 'uea', metric: 'accuracy', value: 0.9865 }),
      fakeRun(tmp, { config: 'configs/uea/JapaneseVowels/transformer.yaml', attention: 'softmax', seed: 666, task: 'uea', metric: 'accuracy', value: 0.9919 }),
      // a softmax run of flowformer.yaml is not the Transformer baseline (no attention dropout): it does not fill the softmax cell
      fakeRun(tmp, { config: 'configs/uea/JapaneseVowels/flowformer.yaml', attention: 'softmax', seed: 666, task: 'uea', metric: 'accuracy', value: 0.5 }),
    ];
    const t = buildTable({ table: 'uea', scale: 'paper', only: ['JapaneseVowels'], runs, repoRoot });
    expect(t.seeds).toEqual([666, 667, 668]); // the table's declared seeds (issue 40.6)
    const jv = t.rows.find((r) => r.row === 'JapaneseVowels')!;
    expect(jv.cells.map((c) => [c.attention, c.ours ? +c.ours.mean.toFixed(6) : null, c.paper])).toEqual([
      ['flow', 98.65, 98.9], ['softmax', 99.19, 98.7], ['performer', null, paperValue('uea', 'JapaneseVowels', 'Performer')], ['reformer', null, paperValue('uea', 'JapaneseVowels', 'Reformer')],
    ]);
    expect(jv.config).toBe('flow: configs/uea/JapaneseVowels/flowformer.yaml, softmax: configs/uea/JapaneseVowels/transformer.yaml, others: configs/uea/JapaneseVowels/flowformer.yaml --set attention.type=<a>');
    t.here = { task: 'uea', title: 'UEA runs on this machine', markdown: '| a | b |\n| --- | --: |\n| x | 1 |\n', json: { rows: 1 } };
    const md = tableMarkdown(t);
    expect(md).toContain('seeds 666,667,668');
    expect(md).toMatch(/\| JapaneseVowels \| 98\.65 \(1 seed\) \(partial: 1 of 3 seeds\) \| 98\.90 \|/); // paper scale: the seed count
    expect(md).toMatch(/## Where our numbers come from[\s\S]*## UEA runs on this machine\n\nWritten by the uea task's report[^\n]*\n\n\| a \| b \|/);
    const files = writeTable(path.join(tmp, 'tables'), t);
    const json = JSON.parse(fs.readFileSync(files.json, 'utf8'));
    expect(json.here).toEqual({ task: 'uea', title: 'UEA runs on this machine', data: { rows: 1 } });
    expect(json.seeds).toEqual([666, 667, 668]);
  });

  it("'main' takes each benchmark's average row, and only when every row ran", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-tables-'));
    const runs = ['listops', 'text', 'retrieval', 'image', 'pathfinder'].map((d, i) =>
      fakeRun(tmp, { config: `configs/lra/${d}/mini.yaml`, attention: 'flow', seed: 0, task: 'lra', metric: 'accuracy', value: 0.1 * (i + 1) }));
    // the proxy's own seed (1, from wikitext-103/flowformer.yaml): no --seeds given
    runs.push(fakeRun(tmp, { config: 'configs/wikitext/wikitext-103-proxy/flowformer.yaml', attention: 'softmax', seed: 1, task: 'wikitext', metric: 'ppl', value: 250 }));
    const t = buildTable({ table: 'main', scale: 'mini', runs, repoRoot });
    const lra = t.rows.find((r) => r.row === 'lra')!.cells.find((c) => c.attention === 'flow')!;
    expect(lra.ours!.mean).toBeCloseTo(30);
    expect(lra.paper).toBe(56.48);
    const wt = t.rows.find((r) => r.row === 'wikitext')!.cells;
    expect(wt.find((c) => c.attention === 'softmax')!.ours!.mean).toBe(250);
    expect(wt.find((c) => c.attention === 'flow')!.ours).toBeNull();
    expect(t.rows.find((r) => r.row === 'uea')!.cells.every((c) => c.ours === null)).toBe(true);
    expect(tableMarkdown(t)).toContain('not run');
  });
});


describe('every column is a named recipe with its source (issue 40.1)', () => {
  it("every paper column names the original's file it comes from, and its config exists", () => {
    const problems: string[] = [];
    for (const table of tableNames().filter((t) => t !== 'main')) {
      const spec = tableSpecs().find((s) => s.name === table)!;
      for (const c of spec.columns('paper').filter((x) => x.kind === 'paper')) {
        if (!c.recipe) problems.push(`${table}/${c.key}: no recipe`);
        if (!/\.(py|sh|md)\b/.test(c.source)) problems.push(`${table}/${c.key}: source '${c.source}' names no file of the original`);
      }
      for (const j of tableJobs({ table, scale: 'paper' })) if (!fs.existsSync(path.join(repoRoot, j.config))) problems.push(`${j.id}: ${j.config} does not exist`);
    }
    // Until the LRA-recipe configs (configs/lra/<task>/<model>-lra.yaml) land from their branch,
    // this lists them: 15 files, one per LRA task and baseline.
    expect(problems).toEqual([]);
  });

  it("LRA's paper columns: the LRA-code Flowformer and LRA's own baselines; our variants only as labelled extra columns", () => {
    const cols = tableSpecs().find((s) => s.name === 'lra')!.columns('paper');
    const paperCols = cols.filter((c) => c.kind === 'paper');
    expect(paperCols.map((c) => [c.key, c.paperMethod])).toEqual([['flow', 'Flowformer'], ['softmax', 'Transformer'], ['performer', 'Performer'], ['reformer', 'Reformer']]);
    expect(paperCols[0]!.source).toMatch(/Flowformer_LRA\/lra_benchmarks\/<task>\/configs\/flowformer_base\.py/);
    for (const c of paperCols.slice(1)) expect(c.source).toMatch(/google-research\/long-range-arena lra_benchmarks\/<task>\/configs\/base_<task>_config\.py \+ \w+_base\.py/);
    const jobs = tableJobs({ table: 'lra', scale: 'paper', only: ['listops'] });
    expect(jobs.map((j) => [j.column, j.config, j.sets.join(' ')])).toEqual([
      ['flow', 'configs/lra/listops/flowformer-lra-code.yaml', ''],
      ['softmax', 'configs/lra/listops/transformer-lra.yaml', ''],
      ['performer', 'configs/lra/listops/performer-lra.yaml', ''],
      ['reformer', 'configs/lra/listops/reformer-lra.yaml', ''],
    ]);
    // The extra columns: labelled, never beside a paper value.
    const extra = tableJobs({ table: 'lra', scale: 'paper', only: ['listops'], attentions: ['flow-paper-def', 'softmax-ff'] });
    expect(extra.map((j) => [j.column, j.attention, j.config, j.sets.join(' ')])).toEqual([
      ['flow-paper-def', 'flow', 'configs/lra/listops/flowformer.yaml', ''],
      ['softmax-ff', 'softmax', 'configs/lra/listops/flowformer.yaml', 'attention.type=softmax'],
    ]);
    const t = buildTable({ table: 'lra', scale: 'paper', only: ['listops'], attentions: ['flow-paper-def', 'softmax-ff'], runs: [], repoRoot });
    expect(t.rows[0]!.cells.map((c) => [c.column, c.paperMethod, c.paper])).toEqual([['flow-paper-def', null, null], ['softmax-ff', null, null]]);
    expect(tableMarkdown(t)).toContain("| row | flow (paper definition) (ours) | paper | softmax (Flowformer's settings) (ours) | paper |");
  });
});

describe('planTable (reproduce --plan, issue 40.2)', () => {
  it('the LRA paper plan: Flowformer jobs use relu features and competition over heads; the softmax ListOps job has LRA\'s 4 layers and 8 heads', () => {
    // Needs configs/lra/<task>/*-lra.yaml (written on another branch); fails naming the file until then.
    const plan = planTable({ table: 'lra', scale: 'paper', repoRoot });
    expect(plan.map((j) => j.id)).toEqual(tableJobs({ table: 'lra', scale: 'paper' }).map((j) => j.id)); // the run order
    const flow = plan.filter((j) => j.column === 'flow');
    expect(flow).toHaveLength(5);
    for (const j of flow) expect(j.config.attention).toMatchObject({ type: 'flow', featureMap: 'relu', competitionAxis: 'heads' });
    const softmax = plan.find((j) => j.row === 'listops' && j.column === 'softmax')!;
    expect(softmax.config.attention).toMatchObject({ type: 'softmax' });
    expect(softmax.config.model).toMatchObject({ nLayers: 4, nHeads: 8 });
  });

  it('resolves each job (recipe, source, seed, data folder and kind) without running anything', () => {
    const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-plan-'));
    const [j] = planTable({ table: 'lra', scale: 'paper', only: ['listops'], attentions: ['flow'], repoRoot, dataRoot });
    expect(j).toMatchObject({ id: 'lra-listops-flow-s0', column: 'flow', kind: 'paper', paperMethod: 'Flowformer', configPath: 'configs/lra/listops/flowformer-lra-code.yaml', seed: 0, dataKind: 'release' });
    expect(j!.dataFolder).toBe(path.join(dataRoot, 'lra/listops'));
    expect(j!.command).toBe('flowformer train --config configs/lra/listops/flowformer-lra-code.yaml');
    const [mini] = planTable({ table: 'lra', scale: 'mini', only: ['listops'], attentions: ['flow'], repoRoot, dataRoot });
    expect(mini).toMatchObject({ dataKind: 'generated', dataFolder: path.join(dataRoot, 'lra/listops-generated/mini') });
  });
});

describe('generated data (issue 40.5, table side)', () => {
  it('a paper table refuses a generated set as the release, names the folder and the download; asked for explicitly, its cell says generated', () => {
    const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-gen-'));
    const release = path.join(dataRoot, 'lra/listops');
    fs.mkdirSync(release, { recursive: true });
    fs.writeFileSync(path.join(release, 'provenance.json'), JSON.stringify({ generator: 'listops', version: 1, seed: 0, args: {}, createdAt: '2026-01-01' }));
    const o = { table: 'lra', scale: 'paper' as const, only: ['listops'], attentions: ['flow'], repoRoot, dataRoot };
    expect(() => planTable(o)).toThrow(new RegExp(`${release.replace(/[/.]/g, '\\$&')} holds generated data.*flowformer data download --task lra --dataset release`));
    // explicitly: the user points data.dir at the generated folder
    const gen = path.join(dataRoot, 'lra/listops-generated');
    fs.mkdirSync(gen, { recursive: true });
    fs.writeFileSync(path.join(gen, 'provenance.json'), JSON.stringify({ generator: 'listops', version: 1, seed: 1, args: {}, createdAt: '2026-01-01' }));
    const [j] = planTable({ ...o, sets: [`listops:data.dir=${gen}`] });
    expect(j).toMatchObject({ dataKind: 'generated', dataFolder: gen });
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-gen-runs-'));
    const run = { ...fakeRun(tmp, { config: 'configs/lra/listops/flowformer-lra-code.yaml', attention: 'flow', seed: 0, task: 'lra', metric: 'accuracy', value: 0.3, testValue: 0.37 }), command: `flowformer train -c x --set data.dir=${gen}`, dataInfo: { dir: gen } };
    const t = buildTable({ ...o, sets: [`listops:data.dir=${gen}`], runs: [run], repoRoot });
    expect(t.rows[0]!.cells[0]!.ours!.generated).toEqual([0]);
    expect(tableMarkdown(t)).toMatch(/\| listops \| 37\.00 \(1 seed\); generated data \| 38\.70 \|/);
  });
});

describe('D4RL cells (issue 40.4, table side)', () => {
  it("a cell is the final 100-episode evaluation (summary.finalEval), mean ± std over seeds; the best over training only as a labelled second figure", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-d4rl-'));
    const run = (seed: number, final: number, best: number) => ({
      ...fakeRun(tmp, { config: 'configs/d4rl/hopper-medium/flowformer.yaml', attention: 'flow', seed, task: 'd4rl', metric: 'score', value: best }),
      finalEval: { step: 100000, episodes: 100, targets: [{ target: 3600, returnMean: 2000, returnStd: 100, normalizedMean: final, normalizedStd: 3 }, { target: 1800, returnMean: 1500, returnStd: 80, normalizedMean: final - 5, normalizedStd: 2 }] },
    });
    const noFinal = fakeRun(tmp, { config: 'configs/d4rl/hopper-medium/softmax.yaml', attention: 'softmax', seed: 1, task: 'd4rl', metric: 'score', value: 70 });
    const t = buildTable({ table: 'd4rl', scale: 'paper', only: ['hopper-medium'], attentions: ['flow', 'softmax'], seeds: [1, 2], runs: [run(1, 60, 75), run(2, 64, 77), noFinal], repoRoot });
    const [flow, dt] = t.rows[0]!.cells;
    expect(flow!.ours!.values).toEqual([60, 64]);
    expect(flow!.ours!.secondary).toMatchObject({ label: 'best over training', mean: 76 });
    expect(dt!.paperMethod).toBe('Decision Transformer');
    expect(dt!.ours).toBeNull(); // a run without its final evaluation fills no cell, and the cell says why
    expect(dt!.status).toBe('no value: seed 1: no final 100-episode evaluation in summary.finalEval (best over training 70.00)');
    expect(tableMarkdown(t)).toContain('| hopper-medium | 62.00 ± 2.83 (2 seeds); best over training 76.00 | 66.90 ± 2.50 |');
  });
});

describe('averages over fewer rows than the paper (issue 40.6)', () => {
  it('are labelled partial with their count', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-avg-'));
    const runs = ['Handwriting', 'JapaneseVowels', 'SelfRegulationSCP1', 'UWaveGestureLibrary'].map((d) => fakeRun(tmp, { config: `configs/uea/${d}/mini.yaml`, attention: 'flow', seed: 666, task: 'uea', metric: 'accuracy', value: 0.5 }));
    const t = buildTable({ table: 'uea', scale: 'mini', attentions: ['flow'], runs, repoRoot });
    const avg = t.rows.find((r) => r.row === 'average')!;
    expect(avg.cells[0]!.status).toBe("partial: mean of 4 rows, the paper's of 10");
    expect(tableMarkdown(t)).toContain("| average | 50.00 (partial: mean of 4 rows, the paper's of 10) | 73.00 |");
  });
});
