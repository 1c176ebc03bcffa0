/**
 * `flowformer sweep -c CONFIG --grid key=v1,v2 [--grid ...]`: the cartesian product of the grid
 * as ordinary runs, then the grid's table.
 *
 * Each cell is `flowformer train --config CONFIG --set ... --set key=value ...`, with the same run
 * folder as a run started by hand (results/runs/<task>/<config>/<run-id>), so a cell already
 * trained is not trained again and an interrupted one resumes from its ckpt/last. Workers claim
 * their cell exactly as `reproduce`'s do (packages/core/src/launch/claims.ts), so a sweep and a
 * reproduce, or two sweeps, never train the same run at once. `--launcher slurm` submits the cells
 * as one job array plus a collect job, like `reproduce`. The table (the config's metric per cell,
 * mean ± std over seeds when `seed` is an axis) goes to results/sweeps/<name>/grid.{md,json}.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { loadConfig } from '@flowformer/core';
import { threadsFromEnv } from '@flowformer/core/backend';
import { gridPoints, parseGrid, readRunSummaries, relativeTo, reportedMetrics, runsOfJob, runValue, sweepMarkdown, sweepTable, type GridAxis, type Job, type SweepTable } from '@flowformer/core/results';
import { repoRoot } from '../paths.ts';
import { runRoots } from './train.ts';
import { fromTableJobs, runClaimedJob } from '../launch/jobs.ts';
import { launchOptions, localGpu, reproduceLaunch, type LaunchArgs } from '../launch/reproduce-hook.ts';

interface SweepArgs extends LaunchArgs {
  config: string;
  grid: string[];
  set?: string[];
  name?: string;
  jobs: number;
  plan?: boolean;
  collect?: boolean;
  'results-root'?: string;
  'data-root'?: string;
  backend?: string;
}

/** A cell of the grid as a job: its values, and the Job that `reproduce`'s machinery runs and finds runs of. */
interface Cell {
  values: Record<string, string>;
  job: Job;
}

/** `listops-mini` + [attention.type, seed] -> `listops-mini-attention.type-seed`. */
export function sweepName(configName: string, axes: GridAxis[]): string {
  return `${configName}-${axes.map((a) => a.key).join('-')}`.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/**
 * The cells of a sweep, each validated as the config it trains (an invalid value fails here,
 * naming its --grid key and value, before anything runs).
 */
export function sweepCells(configPath: string, axes: GridAxis[], baseSets: string[], name: string, root: string): Cell[] {
  try {
    loadConfig(configPath, { sets: baseSets });
  } catch (e) {
    throw new Error(`${relativeTo(root, configPath)} with the --set values: ${(e as Error).message}`);
  }
  return gridPoints(axes).map((p, i) => {
    const sets = [...baseSets, ...p.sets];
    let resolved;
    try {
      resolved = loadConfig(configPath, { sets }).config;
    } catch (e) {
      throw new Error(`--grid: the cell ${Object.entries(p.values).map(([k, v]) => `${k}=${v}`).join(', ')} is not a valid config: ${(e as Error).message}`);
    }
    const slug = Object.values(p.values).join('-').replace(/[^A-Za-z0-9._-]+/g, '_');
    const job: Job = {
      table: `sweep-${name}`,
      row: Object.entries(p.values).map(([k, v]) => `${k}=${v}`).join(' '),
      task: resolved.task,
      column: 'sweep',
      attention: resolved.attention.type,
      seed: resolved.seed,
      config: relativeTo(root, configPath),
      sets,
      id: `${name}-${String(i).padStart(3, '0')}-${slug}`,
    };
    return { values: p.values, job };
  });
}

/** The grid table from the completed runs under the results root (latest run per cell). */
export function collectSweep(name: string, configPath: string, axes: GridAxis[], cells: Cell[], resultsRoot: string, root: string): SweepTable {
  const runs = readRunSummaries(resultsRoot, root);
  const results = cells.map((c) => {
    const run = runsOfJob(c.job, runs, root)[0];
    return { values: c.values, value: run ? runValue(run) : null, runDir: run ? relativeTo(root, run.runDir) : null, run };
  });
  const first = results.find((r) => r.run)?.run;
  const reported = first ? reportedMetrics(first) : null;
  const metricName = first?.metric?.name ?? 'metric';
  return sweepTable(
    {
      name,
      config: relativeTo(root, configPath),
      metric: { name: metricName + (metricName === 'accuracy' || metricName === 'top1' ? ' (%)' : ''), mode: first?.metric?.mode ?? 'max', split: reported?.split ?? 'evaluation' },
      axes,
    },
    results.map(({ run: _r, ...r }) => r),
  );
}

/** Percentages with two decimals, other metrics (losses, perplexities, scores) with four. */
export function sweepText(t: SweepTable): string {
  return sweepMarkdown(t, t.metric.name.endsWith('(%)') ? 2 : 4);
}

export function writeSweep(t: SweepTable, resultsRoot: string): { md: string; json: string } {
  const dir = path.join(resultsRoot, 'sweeps', t.name);
  fs.mkdirSync(dir, { recursive: true });
  const md = path.join(dir, 'grid.md');
  const json = path.join(dir, 'grid.json');
  fs.writeFileSync(md, sweepText(t));
  fs.writeFileSync(json, JSON.stringify({ ...t, generatedAt: new Date().toISOString() }, null, 2) + '\n');
  return { md, json };
}

export const sweepCommand: CommandModule<object, SweepArgs> = {
  command: 'sweep',
  describe: 'Train the cartesian product of --grid values as ordinary runs (resumable, one worker per run), then write the grid table',
  builder: (y) =>
    launchOptions(y)
      .option('config', { alias: 'c', type: 'string', demandOption: true, describe: 'the config every cell starts from, e.g. configs/lra/listops/mini.yaml' })
      .option('grid', { type: 'string', array: true, demandOption: true, describe: "an axis: key=v1,v2,... (values are YAML, as in --set; '[0,7]' is one list value); repeat for more axes" })
      .option('set', { type: 'string', array: true, describe: 'an override for every cell (key=value)' })
      .option('name', { type: 'string', describe: 'the sweep\'s name (results/sweeps/<name>/); default <config name>-<grid keys>' })
      .option('jobs', { type: 'number', default: 1, describe: 'cells trained at once here (separate processes, the cores split between them)' })
      .option('plan', { type: 'boolean', describe: 'list every cell (done, resume, todo) with its command; run nothing' })
      .option('collect', { type: 'boolean', describe: 'only write the grid table from the runs that exist' })
      .option('results-root', { type: 'string', describe: 'where runs/ and sweeps/ are; default $FLOWFORMER_RESULTS_ROOT or <repo>/results' })
      .example('$0 sweep -c configs/lra/listops/mini.yaml --grid attention.type=flow,softmax --grid seed=1,2,3', '2 attentions x 3 seeds: six runs, then each attention\'s mean ± std')
      .example('$0 sweep -c configs/uea/JapaneseVowels/mini.yaml --grid optimizer.lr=1e-3,3e-4 --jobs 2', 'two learning rates, two at a time')
      .example('$0 sweep -c configs/lra/listops/flowformer.yaml --grid seed=0,1,2 --launcher slurm --partition gpu --gpus-per-job 1', 'as one Slurm job array plus a collect job')
      .epilogue('Interrupt a sweep (Ctrl-C) and run the same command again: completed cells are kept, interrupted ones resume.') as never,
  handler: async (args) => {
    const root = repoRoot();
    const roots = runRoots(args);
    const configPath = path.resolve(args.config);
    if (!fs.existsSync(configPath)) throw new Error(`no config file ${args.config} (see 'flowformer list' for the shipped configs)`);
    const axes = parseGrid(args.grid);
    const base = loadConfig(configPath, {});
    const name = args.name ?? sweepName(base.name, axes);
    const cells = sweepCells(configPath, axes, args.set ?? [], name, root);
    const jobs = cells.map((c) => c.job);
    const launchJobs = fromTableJobs(jobs, { repoRoot: root, resultsRoot: roots.resultsRoot, dataRoot: args['data-root'], backend: args.backend });

    if (args.plan) {
      console.log(`sweep ${name}: ${cells.length} cells of ${relativeTo(root, configPath)} (${axes.map((a) => `${a.key} x${a.values.length}`).join(', ')}); results root ${roots.resultsRoot}`);
      for (const lj of launchJobs) {
        const st = lj.standing();
        const what = st.kind === 'todo' ? `flowformer ${lj.train.join(' ')}` : st.kind === 'resume' ? `flowformer ${lj.resume(st.run.runDir).join(' ')}  (at update ${st.run.steps} of ${st.run.totalSteps})` : relativeTo(root, st.run.runDir);
        console.log(`${st.kind.padEnd(6)} ${lj.id.padEnd(40)} ${what}`);
      }
      return;
    }

    const sweepArgs = ['-c', relativeTo(root, configPath), ...axes.flatMap((a) => ['--grid', `${a.key}=${a.values.join(',')}`]), ...(args.set ?? []).flatMap((s) => ['--set', s]), '--name', name, '--results-root', roots.resultsRoot, ...(args['data-root'] ? ['--data-root', path.resolve(args['data-root'])] : []), ...(args.backend ? ['--backend', args.backend] : [])];
    if (!args.collect && (await reproduceLaunch(args, { command: 'sweep', table: `sweep-${name}`, stem: `sweep-${name}`, repoRoot: root, resultsRoot: roots.resultsRoot, jobs: launchJobs, reproduceArgs: sweepArgs, backend: args.backend })))
      return;

    let failed = 0;
    if (!args.collect) {
      const todo = launchJobs.filter((j) => j.standing().kind !== 'done');
      const workers = Math.max(1, Math.min(args.jobs, todo.length));
      const threads = threadsFromEnv() ?? Math.max(1, Math.floor(os.availableParallelism() / workers));
      console.log(`sweep ${name}: ${cells.length} cells, ${cells.length - todo.length} done already, training ${todo.length} with --jobs ${args.jobs} (${threads} thread${threads === 1 ? '' : 's'} each)`);
      const logDir = path.join(roots.resultsRoot, 'sweeps', name, 'logs');
      let next = 0;
      let stopping = false;
      const stop = () => (stopping = true); // each worker passes the signal on to its trainer, which saves ckpt/last
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        await Promise.all(
          Array.from({ length: workers }, async (_, slot) => {
            while (next < todo.length && !stopping) {
              const job = todo[next++]!;
              const log = path.join(logDir, `${job.id}.log`);
              const r = await runClaimedJob(job, { repoRoot: root, resultsRoot: roots.resultsRoot, log, env: { FLOWFORMER_THREADS: String(threads) }, backend: args.backend, gpu: localGpu(args, slot), say: (l) => console.log(l) });
              if (r.outcome === 'trained' && r.code !== 0 && r.code !== 130) failed++;
            }
          }),
        );
      } finally {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      }
      if (stopping) {
        console.log(`interrupted: run the same command again to finish the sweep (completed cells are kept, interrupted ones resume)`);
        process.exitCode = 130;
      }
    }
    const table = collectSweep(name, configPath, axes, cells, roots.resultsRoot, root);
    const out = writeSweep(table, roots.resultsRoot);
    console.log('\n' + sweepText(table));
    console.log(`wrote ${relativeTo(root, out.md)} and ${relativeTo(root, out.json)}`);
    if (failed) {
      console.error(`${failed} cell${failed === 1 ? '' : 's'} failed: see the logs in ${relativeTo(root, path.join(roots.resultsRoot, 'sweeps', name, 'logs'))}`);
      process.exitCode = 1;
    }
  },
};
