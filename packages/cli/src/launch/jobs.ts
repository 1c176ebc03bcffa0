/**
 * One job of a table as the launchers see it, and how one worker runs it under a claim.
 *
 * A `LaunchJob` is what the launchers need and nothing more: an id, the `flowformer train`
 * arguments of a fresh run, a claim key, and how the job stands now (read again after claiming,
 * so that a job completed by another worker meanwhile is not trained twice). `fromTableJobs`
 * adapts `reproduce`'s job list to it.
 *
 * `runClaimedJob` is what every worker does, local or on Slurm: claim the job, re-read its
 * runs, then skip it (completed, or a live run of it exists), resume its interrupted run from
 * ckpt/last, or start it; train as a child `flowformer train` (the same command a local
 * `reproduce` runs, with its output in the same log); keep the claim fresh; pass a SIGTERM or
 * SIGINT on to the trainer (it saves ckpt/last and records 'interrupted'); release the claim.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkpointExists } from '@flowformer/core';
import { interruptedRunOfJob, readRunSummaries, relativeTo, runningRunOfJob, runState, runsOfJob, type Job, type RunSummary } from '@flowformer/core/results';
import { acquireClaim, claimKey, jobGpuEnv, slurmJobEnded } from '@flowformer/core/launch';

export const FLOWFORMER_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/flowformer.js');

/** How a job stands, from the run records under the results root. */
export type JobStanding =
  | { kind: 'done'; run: RunSummary }
  | { kind: 'live'; run: RunSummary }
  | { kind: 'resume'; run: RunSummary }
  | { kind: 'todo' };

export interface LaunchJob {
  /** File-name safe and unique in the table: names the log (`<logDir>/<id>.log`) and the array task. */
  id: string;
  /** Arguments after `flowformer` for a fresh run (`train --config ...`). */
  train: string[];
  /** Arguments after `flowformer` that resume a run folder. */
  resume(runDir: string): string[];
  /** The claim's key: the same for the same training whatever table or submission asks for it. */
  claimKey: string;
  /** Re-read from disk on every call. */
  standing(): JobStanding;
  /** The latest run of the job in any state, for status lines. */
  latestRun(): RunSummary | undefined;
}

export interface AdapterOptions {
  repoRoot: string;
  resultsRoot: string;
  dataRoot?: string;
  backend?: string;
}

/** `reproduce`'s jobs as LaunchJobs; `train` is the command `reproduce` runs for the job locally. */
export function fromTableJobs(jobs: Job[], o: AdapterOptions): LaunchJob[] {
  const here = (p: string) => relativeTo(o.repoRoot, path.resolve(o.repoRoot, p));
  const tail = ['--no-progress', '--results-root', here(o.resultsRoot), ...(o.dataRoot ? ['--data-root', o.dataRoot] : []), ...(o.backend ? ['--backend', o.backend] : [])];
  return jobs.map((job) => {
    const runs = () => readRunSummaries(o.resultsRoot, o.repoRoot);
    return {
      id: job.id,
      train: ['train', '--config', here(job.config), ...job.sets.flatMap((s) => ['--set', s]), ...tail],
      resume: (runDir) => ['train', '--resume', here(runDir), ...tail],
      claimKey: claimKey(`${job.config}|${job.attention}|${job.seed}|${[...job.sets].sort().join('|')}`, job.id),
      standing: () => standingOf(job, runs(), o.repoRoot),
      latestRun: () => latestRunOf(job, runs(), o.repoRoot),
    };
  });
}

/**
 * The runs of a job in any state, latest first. `runsOfJob` is the table's matcher (config,
 * attention, seed, extra sets) and keeps completed runs only, so each record is put to it as if
 * completed.
 */
function allRunsOf(job: Job, runs: RunSummary[], repoRoot: string): RunSummary[] {
  const asCompleted = runs.map((r) => ({ ...r, status: 'completed' as const, real: r }));
  return (runsOfJob(job, asCompleted, repoRoot) as (RunSummary & { real: RunSummary })[]).map((r) => r.real);
}

function latestRunOf(job: Job, runs: RunSummary[], repoRoot: string): RunSummary | undefined {
  return allRunsOf(job, runs, repoRoot)[0];
}

function standingOf(job: Job, runs: RunSummary[], repoRoot: string): JobStanding {
  const done = runsOfJob(job, runs, repoRoot)[0];
  if (done) return { kind: 'done', run: done };
  // A live process on this machine (a `flowformer train` started by hand, which takes no claim).
  // A 'running' record of another machine cannot be checked from here; the caller holds the
  // job's claim, so no worker trains it there: it is an orphan (below).
  const live = runningRunOfJob(job, runs, repoRoot);
  if (live && live.host === os.hostname()) return { kind: 'live', run: live };
  const cut = interruptedRunOfJob(job, runs, repoRoot);
  if (cut) return { kind: 'resume', run: cut };
  // A 'running' record from another machine whose worker is gone (we hold the job's claim, so
  // nobody trains it): resumable from its ckpt/last like an abandoned one.
  const orphan = allRunsOf(job, runs, repoRoot).find((r) => runState(r) === 'running' && checkpointExists(path.join(r.runDir, 'ckpt', 'last')));
  return orphan ? { kind: 'resume', run: orphan } : { kind: 'todo' };
}

export interface RunClaimedOptions {
  repoRoot: string;
  resultsRoot: string;
  /** The job's log: the trainer's output is appended to it. */
  log: string;
  /** Extra environment of the trainer (threads, GPU). */
  env?: NodeJS.ProcessEnv;
  backend?: string;
  /** The GPU this worker gives its job (local --gpus); under Slurm the allocation's is kept. */
  gpu?: string;
  staleSeconds?: number;
  /** Lines for the worker's own output (Slurm's output file, or the terminal). */
  say?: (line: string) => void;
  /** Called with the signal when the worker is told to stop (before passing it on). */
  onSignal?: (signal: NodeJS.Signals) => void;
}

export type RunClaimedResult =
  | { outcome: 'claimed-elsewhere'; holder: string }
  | { outcome: 'done' | 'live'; run: RunSummary }
  | { outcome: 'trained'; code: number; resumed?: string; signal?: NodeJS.Signals };

/** Claims the job, decides, trains it as a child `flowformer train`, releases the claim. */
export async function runClaimedJob(job: LaunchJob, o: RunClaimedOptions): Promise<RunClaimedResult> {
  const say = o.say ?? ((l: string) => console.log(l));
  const got = acquireClaim(o.resultsRoot, job.claimKey, job.id, { slurmEnded: slurmJobEnded, staleSeconds: o.staleSeconds ?? staleFromEnv() });
  if (!got.ok) {
    const h = got.holder;
    const holder = `${h.host} pid ${h.pid}${h.slurm ? `, Slurm job ${h.slurm.arrayJobId ? `${h.slurm.arrayJobId}_${h.slurm.arrayTaskId}` : h.slurm.jobId}` : ''}, since ${h.startedAt}`;
    say(`${job.id}: claimed by ${holder}; not training it here`);
    return { outcome: 'claimed-elsewhere', holder };
  }
  const claim = got.claim;
  try {
    if (got.tookOver) say(`${job.id}: took over the claim of ${got.tookOver.host} pid ${got.tookOver.pid} (${got.tookOver.state})`);
    const now = job.standing();
    if (now.kind === 'done') {
      say(`${job.id}: completed already (${relativeTo(o.repoRoot, now.run.runDir)})`);
      return { outcome: 'done', run: now.run };
    }
    if (now.kind === 'live') {
      say(`${job.id}: pid ${now.run.pid} on this machine is training it (${relativeTo(o.repoRoot, now.run.runDir)}); not training it twice`);
      return { outcome: 'live', run: now.run };
    }
    const args = now.kind === 'resume' ? job.resume(now.run.runDir) : job.train;
    if (now.kind === 'resume') say(`${job.id}: resuming ${relativeTo(o.repoRoot, now.run.runDir)} from update ${now.run.steps} of ${now.run.totalSteps}`);
    else say(`${job.id}: starting`);
    const env = jobGpuEnv({ ...process.env, ...o.env }, { gpu: o.gpu, backend: o.backend });
    fs.mkdirSync(path.dirname(o.log), { recursive: true });
    const fd = fs.openSync(o.log, 'a');
    fs.writeSync(fd, `$ ${env.FLOWFORMER_THREADS ? `FLOWFORMER_THREADS=${env.FLOWFORMER_THREADS} ` : ''}${o.gpu !== undefined ? `CUDA_VISIBLE_DEVICES=${o.gpu} ` : ''}node ${[FLOWFORMER_BIN, ...args].join(' ')}\n`);
    let signal: NodeJS.Signals | undefined;
    const code = await new Promise<number>((resolve) => {
      // detached: a terminal's Ctrl-C reaches the worker only, which passes it on once.
      const child = spawn(process.execPath, [FLOWFORMER_BIN, ...args], { stdio: ['ignore', fd, fd], cwd: o.repoRoot, env, detached: true });
      const stop = (s: NodeJS.Signals) => {
        signal ??= s;
        o.onSignal?.(s);
        child.kill('SIGTERM');
      };
      const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGUSR2'];
      for (const s of signals) process.on(s, stop);
      claim.keepAlive(() => {
        say(`${job.id}: another worker took this job's claim over (ours was not refreshed in time); stopping the trainer`);
        child.kill('SIGTERM');
      });
      child.on('error', (e) => {
        fs.writeSync(fd, `spawn failed: ${e.message}\n`);
        resolve(127);
      });
      child.on('close', (c) => {
        for (const s of signals) process.removeListener(s, stop);
        // Killed by our own signal before its handlers were up (still starting): interrupted, not failed.
        resolve(c ?? (signal ? 130 : 1));
      });
    });
    fs.closeSync(fd);
    say(`${job.id}: ${code === 0 ? 'completed' : code === 130 ? 'interrupted (ckpt/last saved; resumes on the next submission)' : `failed (exit ${code}), see ${o.log}`}`);
    return { outcome: 'trained', code, ...(now.kind === 'resume' ? { resumed: now.run.runDir } : {}), ...(signal ? { signal } : {}) };
  } finally {
    claim.release();
  }
}

/** FLOWFORMER_CLAIM_STALE_SECONDS: how long a claim may go unrefreshed before it is taken over (default 600). */
export function staleFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env.FLOWFORMER_CLAIM_STALE_SECONDS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`FLOWFORMER_CLAIM_STALE_SECONDS: '${v}' is not a positive number of seconds`);
  return n;
}
