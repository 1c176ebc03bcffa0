/**
 * `reproduce --status` and the progress of `--launcher slurm --wait`: where every job of a table
 * stands, from the run records, the claims, the Slurm submissions of the table and squeue.
 *
 *   not started   no run, not queued
 *   queued        an array task of the latest submission that lists the job is pending (its Slurm id)
 *   running       a live claim or run: update k of n, node (or host) and pid
 *   completed     a completed run exists
 *   interrupted   stopped with its ckpt/last saved; the next submission resumes it
 *   failed        the job's last Slurm task ended without a completed run, or its run diverged;
 *                 with the last lines of its log
 *   abandoned     a run record says running but its worker is gone (killed, node lost)
 */
import fs from 'node:fs';
import path from 'node:path';
import { relativeTo, runState } from '@flowformer/core/results';
import { claimsDir, holderState, readClaim, slurmJobEnded, slurmStateEnded, type SlurmJobState } from '@flowformer/core/launch';
import type { LaunchJob } from './jobs.ts';
import { readSubmissions, submissionStates, type Submission } from './slurm.ts';

export type StatusKind = 'not started' | 'queued' | 'running' | 'completed' | 'interrupted' | 'failed' | 'abandoned';

export interface JobStatus {
  id: string;
  kind: StatusKind;
  /** The rest of the line: Slurm id, progress, node, run folder. */
  detail: string;
  /** failed: the last lines of its log. */
  tail?: string[];
  slurm?: SlurmJobState;
}

function tailOf(file: string, lines = 8): string[] {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines);
  } catch {
    return [];
  }
}

/** The Slurm task of each job in its latest submission (by job id), with squeue's state. */
function latestTasks(subs: Submission[]): Map<string, { sub: Submission; state?: SlurmJobState }> {
  const out = new Map<string, { sub: Submission; state?: SlurmJobState }>();
  for (const sub of subs) {
    const states = submissionStates(sub);
    sub.jobs.forEach((id, i) => out.set(id, { sub, state: states?.tasks.get(i) }));
  }
  return out;
}

export function jobStatuses(jobs: LaunchJob[], o: { repoRoot: string; resultsRoot: string; stem: string; logDir: string }): JobStatus[] {
  const tasks = latestTasks(readSubmissions(o.resultsRoot, o.stem));
  const dir = claimsDir(o.resultsRoot);
  return jobs.map((job): JobStatus => {
    const log = path.join(o.logDir, `${job.id}.log`);
    const standing = job.standing();
    const run = job.latestRun();
    const t = tasks.get(job.id);
    const slurmId = t ? (t.state?.id ?? `${t.sub.arrayJobId}_${t.sub.jobs.indexOf(job.id)}`) : undefined;
    const at = (r: NonNullable<typeof run>) => `update ${r.steps} of ${r.totalSteps}`;
    const where = (r: NonNullable<typeof run>) => relativeTo(o.repoRoot, r.runDir);
    if (standing.kind === 'done') return { id: job.id, kind: 'completed', detail: where(standing.run) };
    const claim = readClaim(dir, job.claimKey);
    const claimAlive = claim && holderState(claim, { slurm: null, slurmEnded: slurmJobEnded }) === 'alive';
    if (claimAlive || standing.kind === 'live') {
      const node = claim?.slurm?.node ?? claim?.host ?? run?.host;
      const sid = claim?.slurm ? (claim.slurm.arrayJobId ? `${claim.slurm.arrayJobId}_${claim.slurm.arrayTaskId}` : claim.slurm.jobId) : undefined;
      const live = run && (run.status === 'running' || standing.kind === 'live') ? `${at(run)}, ` : '';
      return { id: job.id, kind: 'running', detail: `${live}on ${node}${sid ? `, Slurm ${sid}` : ''}, pid ${claim?.pid ?? run?.pid}`, ...(t?.state ? { slurm: t.state } : {}) };
    }
    if (t?.state && !slurmStateEnded(t.state.state)) {
      if (t.state.state === 'RUNNING') return { id: job.id, kind: 'running', detail: `starting, Slurm ${slurmId} on ${t.state.node}`, slurm: t.state };
      return { id: job.id, kind: 'queued', detail: `Slurm ${slurmId} ${t.state.state.toLowerCase()}${t.state.reason && t.state.reason !== 'None' ? ` (${t.state.reason})` : ''}`, slurm: t.state };
    }
    if (run) {
      const state = runState(run);
      if (state === 'abandoned' || (state === 'running' && !claimAlive)) return { id: job.id, kind: 'abandoned', detail: `${where(run)} at ${at(run)}: its worker is gone; the next submission ${standing.kind === 'resume' ? 'resumes it from ckpt/last' : 'starts it over (no ckpt/last)'}` };
      if (state === 'diverged') return { id: job.id, kind: 'failed', detail: `${where(run)} diverged at ${at(run)}, log ${log}`, tail: tailOf(log) };
      if (state === 'interrupted' || state === 'stopped') {
        const ended = t?.state ? `, Slurm ${slurmId} ${t.state.state.toLowerCase()}` : '';
        return { id: job.id, kind: 'interrupted', detail: `${where(run)} at ${at(run)}${ended}; ${standing.kind === 'resume' ? 'the next submission resumes it from ckpt/last' : 'no ckpt/last here: it starts over'}` };
      }
    }
    if (t?.state && slurmStateEnded(t.state.state)) return { id: job.id, kind: 'failed', detail: `Slurm ${slurmId} ${t.state.state.toLowerCase()} without a completed run, log ${log}`, tail: tailOf(log) };
    if (fs.existsSync(log) && !t) {
      // A local `reproduce` that ran it and left no run: it failed before its first record.
      const tail = tailOf(log);
      if (tail.length) return { id: job.id, kind: 'failed', detail: `no run; log ${log}`, tail };
    }
    return { id: job.id, kind: 'not started', detail: t ? `Slurm ${slurmId}: not known to Slurm any more` : '' };
  });
}

export function printStatuses(statuses: JobStatus[], header: string): void {
  console.log(header);
  const w = Math.max(...statuses.map((s) => s.id.length), 4);
  for (const s of statuses) {
    console.log(`${s.kind.padEnd(11)} ${s.id.padEnd(w)} ${s.detail}`.trimEnd());
    for (const l of s.tail ?? []) console.log(`            | ${l}`);
  }
  const counts = new Map<StatusKind, number>();
  for (const s of statuses) counts.set(s.kind, (counts.get(s.kind) ?? 0) + 1);
  console.log([...counts].map(([k, n]) => `${n} ${k}`).join(', '));
}
