/**
 * `flowformer reproduce --table T`: runs the jobs a paper table needs as independent
 * `flowformer train` child processes (or, with --collect, only gathers existing runs), then
 * writes results/tables/<table>.md and .json with ours beside the paper's numbers, and below
 * them the task's own "runs on this machine" section when its Task has a `report` hook.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { listTasks } from '@flowformer/core';
import { DEFAULT_ATTENTIONS, MAIN_TABLE, mainTables, planTable, planText, tableNames, tableSpecs, tableJobs, tableRows, tableTask, readRunSummaries, runsOfJob, interruptedRunOfJob, runningRunOfJob, strandedRunOfJob, buildTable, writeTable, loadPaper, relativeTo, type Job, type RunSummary, type Scale, type TableHere, type TableName } from '@flowformer/core/results';
import { acquireClaim, jobGpuEnv, slurmJobEnded } from '@flowformer/core/launch';
import { threadsFromEnv } from '@flowformer/core/backend';
import { writeReadmeResults } from '@flowformer/core/results';
import { repoRoot } from '../paths.ts';
import { runRoots } from './train.ts';
import { fromTableJobs } from '../launch/jobs.ts';
import { launchOptions, localGpu, reproduceLaunch, type LaunchArgs } from '../launch/reproduce-hook.ts';

interface ReproduceArgs extends LaunchArgs {
  table: TableName;
  scale: Scale;
  attentions?: string;
  seeds?: string;
  only?: string;
  set?: string[];
  jobs: number;
  collect?: boolean;
  'dry-run'?: boolean;
  plan?: boolean;
  json?: boolean;
  rerun?: boolean;
  out?: string;
  backend?: string;
  'data-root'?: string;
  'results-root'?: string;
}

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/flowformer.js');
const list = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined);

/**
 * The jobs running now. A SIGINT/SIGTERM to `reproduce` is passed on to them (each saves its
 * ckpt/last and stops as 'interrupted'; `reproduce` again skips what is completed and resumes
 * the interrupted runs from their ckpt/last), and no new job starts afterwards.
 */
const running = new Set<ChildProcess>();
let stopping = false;
function onStopSignal(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  console.error(`${signal}: stopping ${running.size} running job(s) (they save ckpt/last); no new job starts`);
  for (const c of running) c.kill(signal);
}

/**
 * Threads per job: --threads (or FLOWFORMER_THREADS) when given, else the cores split between
 * the jobs that run at once. Measured on 2 cores (docs/reproduce.md, "Parallel jobs"): two wasm
 * jobs of 2 threads each took 2.6-2.8 s per step where two of 1 thread took 1.4 s.
 */
function jobThreads(jobs: number, todo: number, cores = os.availableParallelism()): number {
  return threadsFromEnv() ?? Math.max(1, Math.floor(cores / Math.max(1, Math.min(jobs, todo))));
}

/** Why a job with an interrupted run starts over: that run's checkpoint is not here. */
function strandedText(root: string, run: RunSummary): string {
  return `the interrupted run ${relativeTo(root, run.runDir)} (update ${run.steps} of ${run.totalSteps}) has no ckpt/last here to resume from; it stays as it is`;
}

/** Runs one job as `flowformer train`, its output to `log`; resolves with the exit code. */
function runJob(job: Job, args: ReproduceArgs, resultsRoot: string, log: string, threads: number, resume?: string, gpu?: string): Promise<number> {
  // Paths relative to the repository (the child's cwd) where they lie inside it: the command is
  // recorded in the run's summary.json, which is committed and read in other clones.
  const root = repoRoot();
  const here = (p: string) => relativeTo(root, path.resolve(root, p));
  const argv = resume
    ? [bin, 'train', '--resume', here(resume), '--no-progress', '--results-root', here(resultsRoot)]
    : [bin, 'train', '--config', here(job.config), ...job.sets.flatMap((s) => ['--set', s]), '--no-progress', '--results-root', here(resultsRoot)];
  if (args['data-root']) argv.push('--data-root', args['data-root']);
  if (args.backend) argv.push('--backend', args.backend);
  fs.mkdirSync(path.dirname(log), { recursive: true });
  const fd = fs.openSync(log, 'w');
  fs.writeSync(fd, `$ FLOWFORMER_THREADS=${threads} node ${argv.join(' ')}\n`);
  return new Promise((resolve) => {
    // detached: a Ctrl-C in the terminal reaches `reproduce` only, which passes it on once.
    const env = jobGpuEnv({ ...process.env, FLOWFORMER_THREADS: String(threads) }, { gpu, backend: args.backend });
    const child = spawn(process.execPath, argv, { stdio: ['ignore', fd, fd], cwd: root, detached: true, env });
    running.add(child);
    child.on('error', (e) => { running.delete(child); fs.writeSync(fd, `spawn failed: ${e.message}\n`); resolve(127); });
    child.on('close', (code) => { running.delete(child); fs.closeSync(fd); resolve(code ?? 1); });
  });
}

/** The task's own section (its `report` hook), or undefined when the task has none or is not installed. */
async function taskSection(taskName: string, a: { runs: RunSummary[]; repoRoot: string; resultsRoot: string; scale: Scale }): Promise<TableHere | undefined> {
  const task = listTasks().find((t) => t.name === taskName);
  if (!task?.report) return undefined;
  const r = await task.report({ ...a, paper: loadPaper() });
  return { task: task.name, title: r.title, markdown: r.markdown, json: r.json };
}

/** The declared tables a `--table` covers: itself, or for 'main' the tables it summarises. */
function subTablesOf(table: string): string[] {
  return table === MAIN_TABLE ? mainTables(tableSpecs()) : [table];
}

export const reproduceCommand: CommandModule<object, ReproduceArgs> = {
  command: 'reproduce',
  describe: "Run (or --collect) the runs of one of the paper's tables; writes results/tables/<table>.md and .json beside the paper's numbers",
  builder: (y) =>
    launchOptions(y)
      .option('table', { type: 'string', choices: tableNames(), demandOption: true, describe: "which table (declared by the task packages; `flowformer list tables`); 'main' is the README's summary (all its tables' jobs)" })
      .option('scale', { choices: ['paper', 'mini'] as const, default: 'paper' as const, describe: "paper configs, or the mini/proxy configs that run on a CPU (tables then go to <table>-mini.*)" })
      .option('attentions', { type: 'string', describe: `columns (recipes) to run, comma-separated; default the table's paper columns ('main': ${DEFAULT_ATTENTIONS.join(',')}). A table may declare extra columns (e.g. lra: flow-paper-def,softmax-ff); any other attention type trains each row's fallback config, as an extra column` })
      .option('seeds', { type: 'string', describe: "comma-separated seeds (--set seed=<s> per job); cells show mean ± std over them. Default: one run per cell with the config's own seed: (UEA 666, tiny Shakespeare 1337, ...)" })
      .option('only', { type: 'string', describe: 'comma-separated rows to run (e.g. listops,text or JapaneseVowels); to split a table across machines' })
      .option('set', { type: 'string', array: true, describe: "extra config override for every job (key=value) or one row's jobs (row:key=value, e.g. image:data.dir=cifar10)" })
      .option('jobs', { type: 'number', default: 1, describe: 'trainings run in parallel (separate processes)' })
      .option('collect', { type: 'boolean', describe: 'run nothing: only gather existing runs and write the table' })
      .option('dry-run', { type: 'boolean', describe: 'print the jobs and exit: done (a completed run exists: skipped), running (a run of it is in progress here: skipped), resume (an interrupted run goes on from its ckpt/last), todo (a new run)' })
      .option('plan', { type: 'boolean', describe: 'print every job in order with its fully resolved config (recipe and source, attention options, model sizes, steps, seed, data folder and whether it is a release or a regeneration) and exit; runs nothing' })
      .option('json', { type: 'boolean', describe: 'with --plan: the plan as JSON (one object per job)' })
      .option('rerun', { type: 'boolean', describe: 'run jobs even when a completed run of them exists' })
      .option('out', { type: 'string', describe: 'where the table files go; default <results-root>/tables' })
      .option('results-root', { type: 'string', describe: 'where runs/ is read and written; default $FLOWFORMER_RESULTS_ROOT or <repo>/results' })
      .example('$0 reproduce --table lra --scale mini --jobs 2', 'the five LRA mini tasks x 4 attentions, two at a time')
      .example('$0 reproduce --table uea --only JapaneseVowels,Handwriting --data-root ../shared/data', 'two UEA rows')
      .example('$0 reproduce --table lra --scale mini --data-root ../shared/data --set image:data.dir=cifar10', 'LRA Image on the shared CIFAR-10 folders')
      .example('$0 reproduce --table uea --seeds 0,1,2 --only JapaneseVowels', 'three seeds of one UEA row (mean ± std)')
      .example('$0 reproduce --table main --collect', 'gather the runs already done into the summary table')
      .example('$0 reproduce --table lra --launcher slurm --partition gpu --gpus-per-job 1 --cpus-per-job 8 --mem 32G --time 1-00:00:00 --requeue', 'the LRA table as one Slurm job array plus a collect job (docs/reproduce.md)')
      .example('$0 reproduce --table lra --status', 'where every job stands: queued, running (update k of n, node), completed, failed, ...')
      .example('$0 reproduce --table lra --plan', 'every job of the LRA paper table with its resolved config, without running anything')
      .example('$0 reproduce --table lra --attentions flow-paper-def,softmax-ff --scale paper --plan --json', "two of LRA's extra columns (the paper's Flow-Attention definition, softmax in Flowformer's settings) as JSON")
      .epilog("A task table (not 'main') ends with the task's own section of every completed run found under the results root (protocols, proxies, throughput, chance levels), when the task provides one.") as never,
  handler: async (args) => {
    const root = repoRoot();
    const roots = runRoots(args);
    const attentions = list(args.attentions);
    const seeds = list(args.seeds)?.map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--seeds: '${s}' is not a non-negative integer (e.g. --seeds 0,1,2)`);
      return n;
    });
    const only = list(args.only);
    const opts = { table: args.table, scale: args.scale, attentions, seeds, only, sets: args.set };
    if (only) {
      const known = subTablesOf(args.table).flatMap((t) => tableRows(t, args.scale).map((r) => r.row));
      const bad = only.filter((o) => !known.includes(o));
      if (bad.length) throw new Error(`--only: no row ${bad.join(', ')} in table ${args.table} at scale ${args.scale}; rows: ${known.join(', ')}`);
    }
    if (args.plan) {
      const plan = planTable({ ...opts, repoRoot: root, dataRoot: args['data-root'] });
      if (args.json) process.stdout.write(JSON.stringify(plan, null, 2) + '\n');
      else process.stdout.write(`${plan.length} jobs for table ${args.table} (scale ${args.scale}), in the order they run:\n\n${planText(plan, root)}`);
      return;
    }
    // The refusal of generated data as a paper table's release holds for runs too, not only plans.
    if (args.scale === 'paper' && !args.collect && !args['dry-run']) planTable({ ...opts, repoRoot: root, dataRoot: args['data-root'] });
    const jobs = tableJobs(opts);
    // Slurm, --status and one array task (--run-job): packages/cli/src/launch/.
    const launchJobs = fromTableJobs(jobs, { repoRoot: root, resultsRoot: roots.resultsRoot, dataRoot: args['data-root'], backend: args.backend });
    const tableArgs = ['--table', args.table, '--scale', args.scale, ...(attentions ? ['--attentions', attentions.join(',')] : []), ...(args.seeds ? ['--seeds', args.seeds] : []), ...(args.only ? ['--only', args.only] : []), ...(args.set ?? []).flatMap((s) => ['--set', s]), '--results-root', roots.resultsRoot, ...(args['data-root'] ? ['--data-root', path.resolve(args['data-root'])] : []), ...(args.backend ? ['--backend', args.backend] : [])];
    if (!args.collect && (await reproduceLaunch(args, { table: args.table, stem: args.scale === 'mini' ? `${args.table}-mini` : args.table, repoRoot: root, resultsRoot: roots.resultsRoot, jobs: launchJobs, reproduceArgs: tableArgs, backend: args.backend, dryRun: args['dry-run'] })))
      return;
    const existing = readRunSummaries(roots.resultsRoot);
    // What each job needs, decided once from the records read above:
    //   done: a completed run exists (skipped);
    //   running: a run of it is in progress on this machine (another `train` or `reproduce`):
    //     skipped, never started a second time; its record says how far it got in the table;
    //   resume: an interrupted run with its ckpt/last goes on from there;
    //   todo: a new run (--rerun: every job); `stranded` is an interrupted run whose ckpt/last is
    //     not here (a committed record: checkpoints stay on the machine that trained), so it
    //     cannot go on and the job starts over, which the user is told rather than left to guess.
    //   missing: the job's config file does not exist (a recipe not yet written): not runnable.
    type Plan = { kind: 'done' | 'missing' } | { kind: 'todo'; stranded?: RunSummary } | { kind: 'running' | 'resume'; run: RunSummary };
    const planOf = (j: Job): Plan => {
      if (j.missingConfig) return { kind: 'missing' };
      if (args.rerun) return { kind: 'todo' };
      if (runsOfJob(j, existing, root).length > 0) return { kind: 'done' };
      const live = runningRunOfJob(j, existing, root);
      if (live) return { kind: 'running', run: live };
      const cut = interruptedRunOfJob(j, existing, root);
      return cut ? { kind: 'resume', run: cut } : { kind: 'todo', stranded: strandedRunOfJob(j, existing, root) };
    };
    const plans = jobs.map((job) => ({ job, plan: planOf(job) }));

    if (args['dry-run']) {
      console.log(`${jobs.length} jobs for table ${args.table} (scale ${args.scale}); results root ${roots.resultsRoot}`);
      for (const { job: j, plan } of plans) {
        const command =
          plan.kind === 'missing'
            ? `(config not found: ${j.config})`
            : plan.kind === 'running'
            ? `(pid ${plan.run.pid} is training it: ${relativeTo(root, plan.run.runDir)}, at update ${plan.run.steps} of ${plan.run.totalSteps})`
            : plan.kind === 'resume'
              ? `flowformer train --resume ${relativeTo(root, plan.run.runDir)}  (at update ${plan.run.steps} of ${plan.run.totalSteps})`
              : `flowformer train --config ${j.config} ${j.sets.map((s) => `--set ${s}`).join(' ')}`.trimEnd() + (plan.kind === 'todo' && plan.stranded ? `  (${strandedText(root, plan.stranded)})` : '');
        console.log(`${plan.kind.padEnd(7)} ${j.id.padEnd(48)} ${command}`);
      }
      for (const t of subTablesOf(args.table))
        for (const r of tableRows(t, args.scale)) if (r.note || r.skip) console.log(`note ${t}/${r.row}: ${r.skip ?? r.note}`);
      return;
    }

    const failed: { job: Job; code: number; log: string }[] = [];
    if (!args.collect) {
      let elsewhere = 0;
      for (const { job, plan } of plans) {
        if (plan.kind !== 'running') continue;
        elsewhere++;
        console.log(`skipping ${job.id}: pid ${plan.run.pid} is training it now (${relativeTo(root, plan.run.runDir)}, update ${plan.run.steps} of ${plan.run.totalSteps}); run this command again once it has stopped`);
      }
      const todo = plans.filter(({ plan }) => plan.kind === 'todo' || plan.kind === 'resume');
      const threads = jobThreads(args.jobs, todo.length);
      const missing = plans.filter(({ plan }) => plan.kind === 'missing');
      for (const { job } of missing) console.error(`cannot run ${job.id}: its config ${job.config} does not exist`);
      console.log(`${jobs.length} jobs, ${jobs.length - todo.length - elsewhere - missing.length} already done, ${elsewhere ? `${elsewhere} running elsewhere, ` : ''}${missing.length ? `${missing.length} without a config, ` : ''}running ${todo.length} with --jobs ${args.jobs}, ${threads} thread${threads === 1 ? '' : 's'} each`);
      const logDir = path.join(roots.resultsRoot, 'tables', 'logs', args.table);
      let next = 0;
      let finished = 0;
      let interrupted = 0;
      const t0 = Date.now();
      const worker = async (slot: number) => {
        while (next < todo.length && !stopping) {
          const { job, plan } = todo[next++]!;
          const log = path.join(logDir, `${job.id}.log`);
          // One worker per job across machines and submissions: a job claimed by a live worker
          // (a Slurm task, another reproduce) is left to it (packages/core/src/launch/claims.ts).
          const claimed = acquireClaim(roots.resultsRoot, launchJobs[jobs.indexOf(job)]!.claimKey, job.id, { slurmEnded: slurmJobEnded });
          if (!claimed.ok) {
            finished++;
            console.log(`[${finished}/${todo.length}] skipping ${job.id}: claimed by ${claimed.holder.host} pid ${claimed.holder.pid}${claimed.holder.slurm ? ` (Slurm job ${claimed.holder.slurm.jobId})` : ''}`);
            continue;
          }
          // Completed by another worker since the plan was made (with --rerun, a run completed before it does not count).
          const now = launchJobs[jobs.indexOf(job)]!.standing();
          if (now.kind === 'done' && now.run.runId !== runsOfJob(job, existing, root)[0]?.runId) {
            claimed.claim.release();
            finished++;
            console.log(`[${finished}/${todo.length}] skipping ${job.id}: another worker completed it meanwhile`);
            continue;
          }
          claimed.claim.keepAlive(() => console.error(`${job.id}: its claim was taken over by another worker`));
          const resume = plan.kind === 'resume' ? plan.run.runDir : undefined;
          if (resume) console.log(`resuming ${job.id} from ${resume}`);
          else if (plan.kind === 'todo' && plan.stranded) console.log(`starting ${job.id} over: ${strandedText(root, plan.stranded)}`);
          const jobStart = Date.now();
          const code = await runJob(job, args, roots.resultsRoot, log, threads, resume, localGpu(args, slot)).finally(() => claimed.claim.release());
          finished++;
          const cut = code !== 0 && stopping; // stopped by our signal: interrupted and resumable, not failed
          if (cut) interrupted++;
          if (code !== 0 && !cut) failed.push({ job, code, log });
          console.log(`[${finished}/${todo.length}] ${code === 0 ? 'ok    ' : cut ? 'interrupted (resumes on the next call)' : `FAILED (exit ${code})`} ${job.id} (${((Date.now() - jobStart) / 60000).toFixed(1)} min; ${((Date.now() - t0) / 60000).toFixed(1)} min since start) log ${log}`);
        }
      };
      process.on('SIGINT', onStopSignal);
      process.on('SIGTERM', onStopSignal);
      try {
        await Promise.all(Array.from({ length: Math.max(1, Math.min(args.jobs, todo.length)) }, (_, slot) => worker(slot)));
      } finally {
        process.removeListener('SIGINT', onStopSignal);
        process.removeListener('SIGTERM', onStopSignal);
      }
      // Not finished: the jobs our signal interrupted, and those that never started.
      if (stopping) console.error(`stopped: ${interrupted + todo.length - finished} job(s) not finished (${interrupted} interrupted, ${todo.length - finished} not started); run the same command again to continue them (interrupted runs resume from ckpt/last; completed ones are skipped)`);
    }

    const runs = readRunSummaries(roots.resultsRoot);
    const table = buildTable({ ...opts, runs, repoRoot: root });
    let reportFailed = false;
    if (args.table !== MAIN_TABLE) {
      try {
        table.here = await taskSection(tableTask(args.table), { runs, repoRoot: root, resultsRoot: roots.resultsRoot, scale: args.scale });
      } catch (e) {
        // The generic table is still worth writing; the exit status says something is missing.
        console.error(`the ${args.table} task's report failed, its section is missing from the table: ${(e as Error).message}`);
        reportFailed = true;
      }
    }
    const files = writeTable(args.out ?? path.join(roots.resultsRoot, 'tables'), table, root);
    const cells = table.rows.flatMap((r) => r.cells);
    console.log(`wrote ${files.md} and ${files.json}: ${cells.filter((c) => c.ours).length} of ${cells.length} cells have our runs${table.here ? `; section '${table.here.title}' from the ${table.here.task} task` : ''}`);
    if (writeReadmeResults({ repoRoot: root, tablesDir: path.dirname(files.json) })?.changed) console.log('rewrote the results table of README.md from results/tables/main*.json');
    if (reportFailed) process.exitCode = 1;
    if (failed.length) {
      console.error(`${failed.length} job(s) failed (their cells say 'not run'):`);
      for (const f of failed) console.error(`  ${f.job.id}: exit ${f.code}, see ${f.log}`);
      process.exitCode = 1;
    }
  },
};
