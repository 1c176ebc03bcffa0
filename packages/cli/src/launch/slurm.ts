/**
 * `reproduce --launcher slurm`: one job array (one task per job, in plan order) and one collect
 * job that depends on it (afterany) and writes the table.
 *
 * Each array task runs `flowformer reproduce <same table options> --run-job <id>`: it claims
 * the job, then runs the very `flowformer train` a local `reproduce` runs (runClaimedJob), so
 * run folders, logs and summaries are the same. The batch scripts and a record of each
 * submission (`<results>/tables/slurm/<table>[-mini].submissions.jsonl`: job ids, array
 * index -> job) are written beside the table, for `--status` and for people.
 *
 * Interruption: `--signal=B:USR2@<grace>` tells the task shortly before its time limit; it
 * passes a SIGTERM to the trainer, which finishes its update, saves ckpt/last and records
 * 'interrupted'. With `--requeue` the task then requeues itself (and Slurm requeues it after a
 * preemption); without, the next submission of the table resumes it. A scancel (SIGTERM to every
 * process of the task) interrupts it the same way.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { squeue, slurmStateEnded, type SlurmJobState } from '@flowformer/core/launch';
import { FLOWFORMER_BIN, type LaunchJob } from './jobs.ts';

export interface SlurmOptions {
  partition?: string;
  gpusPerJob?: number;
  /** 'gres' (--gres=gpu:N, every Slurm) or 'gpus' (--gpus=N, Slurm >= 19.05 with cons_tres). */
  gpuFlag?: 'gres' | 'gpus';
  cpusPerJob?: number;
  mem?: string;
  time?: string;
  maxParallel?: number;
  sbatchArgs?: string[];
  requeue?: boolean;
  /** Seconds before the time limit at which the trainer is told to save and stop. */
  signalGrace?: number;
}

export interface SubmitPlan {
  /** The flowformer command each array task and the collect job run (`reproduce`, `sweep`); default 'reproduce'. */
  command?: string;
  table: string;
  /** The table's file stem: <table> or <table>-mini. */
  stem: string;
  repoRoot: string;
  resultsRoot: string;
  jobs: LaunchJob[];
  /** `flowformer reproduce` options that select the table (--table, --scale, --seeds, --set, ...). */
  reproduceArgs: string[];
  slurm: SlurmOptions;
}

export interface BatchScripts {
  array: string;
  collect: (arrayJobId: string) => string;
  logDir: string;
}

const q = (s: string) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function logDirOf(resultsRoot: string, table: string): string {
  return path.join(resultsRoot, 'tables', 'logs', table);
}

function resourceLines(o: SlurmOptions, gpus: boolean): string[] {
  return [
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(gpus && o.gpusPerJob ? [o.gpuFlag === 'gpus' ? `#SBATCH --gpus=${o.gpusPerJob}` : `#SBATCH --gres=gpu:${o.gpusPerJob}`] : []),
    `#SBATCH --cpus-per-task=${gpus ? (o.cpusPerJob ?? 1) : 1}`,
    ...(o.mem && gpus ? [`#SBATCH --mem=${o.mem}`] : []),
    ...(o.time && gpus ? [`#SBATCH --time=${o.time}`] : []),
  ];
}

/** The two batch scripts of a submission. */
export function batchScripts(p: SubmitPlan): BatchScripts {
  const logDir = logDirOf(p.resultsRoot, p.table);
  const n = p.jobs.length;
  const o = p.slurm;
  const grace = o.signalGrace ?? 120;
  const node = q(process.execPath);
  const reproduce = [node, q(FLOWFORMER_BIN), p.command ?? 'reproduce', ...p.reproduceArgs.map(q)].join(' ');
  const array = [
    '#!/bin/bash',
    `#SBATCH --job-name=flowformer-${p.stem}`,
    `#SBATCH --array=0-${n - 1}${o.maxParallel ? `%${o.maxParallel}` : ''}`,
    ...resourceLines(o, true),
    `#SBATCH --output=${logDir}/slurm-%A_%a.out`,
    '#SBATCH --open-mode=append',
    // USR2 to the batch shell (the worker, by exec) `grace` seconds before the time limit (not USR1: Node keeps it for its inspector)
    `#SBATCH --signal=B:USR2@${grace}`,
    o.requeue ? '#SBATCH --requeue' : '#SBATCH --no-requeue',
    ...(o.sbatchArgs ?? []).map((a) => `#SBATCH ${a}`),
    '',
    `# One task per job of table ${p.table}, in plan order; each runs the same \`flowformer train\``,
    '# a local `reproduce` runs, under a claim (one worker per job across submissions).',
    'set -euo pipefail',
    `cd ${q(p.repoRoot)}`,
    'JOBS=(',
    ...p.jobs.map((j) => `  ${q(j.id)}`),
    ')',
    // the cores Slurm gave the task, for the backend's thread pool
    'export FLOWFORMER_THREADS="${FLOWFORMER_THREADS:-${SLURM_CPUS_PER_TASK:-1}}"',
    `exec ${reproduce} --run-job "\${JOBS[$SLURM_ARRAY_TASK_ID]}"${o.requeue ? ' --requeue' : ''}`,
    '',
  ].join('\n');
  const collect = (arrayJobId: string) =>
    [
      '#!/bin/bash',
      `#SBATCH --job-name=flowformer-${p.stem}-collect`,
      `#SBATCH --dependency=afterany:${arrayJobId}`,
      ...resourceLines(o, false),
      '#SBATCH --time=00:30:00',
      `#SBATCH --output=${logDir}/slurm-collect-%j.out`,
      ...(o.sbatchArgs ?? []).map((a) => `#SBATCH ${a}`),
      '',
      `# Writes table ${p.table} from the runs once every array task of job ${arrayJobId} has ended.`,
      'set -euo pipefail',
      `cd ${q(p.repoRoot)}`,
      `exec ${reproduce} --collect`,
      '',
    ].join('\n');
  return { array, collect, logDir };
}

export interface Submission {
  table: string;
  stem: string;
  arrayJobId: string;
  collectJobId: string;
  /** Array index -> job id. */
  jobs: string[];
  submittedAt: string;
  scripts: { array: string; collect: string };
}

export function submissionsFile(resultsRoot: string, stem: string): string {
  return path.join(resultsRoot, 'tables', 'slurm', `${stem}.submissions.jsonl`);
}

export function readSubmissions(resultsRoot: string, stem: string): Submission[] {
  const f = submissionsFile(resultsRoot, stem);
  if (!fs.existsSync(f)) return [];
  return fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Submission];
      } catch {
        return [];
      }
    });
}

function sbatch(script: string): string {
  let out: string;
  try {
    out = execFileSync('sbatch', ['--parsable', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { code?: string; stderr?: string };
    if (err.code === 'ENOENT') throw new Error("sbatch: not found. --launcher slurm runs where Slurm's commands are (a login node); scripts/slurm-local.sh makes this machine a one-node cluster");
    throw new Error(`sbatch ${script}: ${String(err.stderr ?? e).trim()}`);
  }
  return out.trim().split(';')[0]!;
}

/** Writes the scripts and submits them (or, dry, prints them); returns the submission. */
export function submit(p: SubmitPlan, dry: boolean): Submission | undefined {
  const s = batchScripts(p);
  if (dry) {
    console.log(`# ${p.jobs.length} array task(s) for table ${p.table}; submitted with sbatch --parsable <array script>, then the collect script\n`);
    console.log(`# ---- array script\n${s.array}`);
    console.log(`# ---- collect script (afterany on the array job)\n${s.collect('<array job id>')}`);
    return undefined;
  }
  const dir = path.join(p.resultsRoot, 'tables', 'slurm');
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(s.logDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '').replace('T', '-');
  const arrayFile = path.join(dir, `${p.stem}-${stamp}-${process.pid}-array.sh`);
  fs.writeFileSync(arrayFile, s.array);
  const arrayJobId = sbatch(arrayFile);
  const collectFile = path.join(dir, `${p.stem}-${stamp}-${process.pid}-collect.sh`);
  fs.writeFileSync(collectFile, s.collect(arrayJobId));
  const collectJobId = sbatch(collectFile);
  const sub: Submission = { table: p.table, stem: p.stem, arrayJobId, collectJobId, jobs: p.jobs.map((j) => j.id), submittedAt: new Date().toISOString(), scripts: { array: arrayFile, collect: collectFile } };
  fs.appendFileSync(submissionsFile(p.resultsRoot, p.stem), JSON.stringify(sub) + '\n');
  return sub;
}

/** The Slurm state of each array task of a submission (by index), and of its collect job. */
export function submissionStates(sub: Submission): { tasks: Map<number, SlurmJobState>; collect?: SlurmJobState } | undefined {
  const states = squeue([sub.arrayJobId, sub.collectJobId]);
  if (!states) return undefined;
  const tasks = new Map<number, SlurmJobState>();
  for (const s of states) if (s.arrayJobId === sub.arrayJobId && s.arrayTaskId !== undefined) for (const i of expandTaskIds(s.arrayTaskId)) tasks.set(i, s);
  return { tasks, collect: states.find((s) => s.jobId === sub.collectJobId && s.arrayTaskId === undefined) };
}

/** squeue -r lists every task, but a pending range may still read `0-3%2` or `[0-3]`. */
function expandTaskIds(s: string): number[] {
  const body = s.replace(/[[\]]/g, '').split('%')[0]!;
  return body.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    if (b === undefined) return [a!];
    return Array.from({ length: b - a! + 1 }, (_, k) => a! + k);
  });
}

export { slurmStateEnded };
