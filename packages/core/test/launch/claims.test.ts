import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireClaim, claimKey, claimsDir, holderState, readClaim, slurmIdsFromEnv, type ClaimInfo } from '../../src/launch/claims.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = path.resolve(here, '../../../../node_modules/.bin/tsx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowformer-claims-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshRoot = () => fs.mkdtempSync(path.join(tmp, `root${n++}-`));

/** The pid of a process that has exited (and so is dead on this host). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function writeClaim(root: string, c: Partial<ClaimInfo> & { key: string }): void {
  fs.mkdirSync(claimsDir(root), { recursive: true });
  const now = new Date().toISOString();
  fs.writeFileSync(path.join(claimsDir(root), `${c.key}.json`), JSON.stringify({ job: 'j', host: os.hostname(), pid: process.pid, startedAt: now, refreshedAt: now, token: 'theirs', ...c }));
}

describe('claims', () => {
  it('a claim is exclusive while its holder lives, and free again once released', () => {
    const root = freshRoot();
    const a = acquireClaim(root, 'k', 'job k', { slurm: null });
    expect(a.ok).toBe(true);
    // The same process again, as another worker would see it: the holder (this pid) is alive.
    const b = acquireClaim(root, 'k', 'job k', { slurm: null, pid: process.pid + 1 });
    expect(b.ok).toBe(false);
    if (!b.ok) expect(b.holder.pid).toBe(process.pid);
    if (a.ok) a.claim.release();
    expect(readClaim(claimsDir(root), 'k')).toBeNull();
    expect(acquireClaim(root, 'k', 'job k', { slurm: null }).ok).toBe(true);
  });

  it('a claim whose holder on this host is dead is taken over', () => {
    const root = freshRoot();
    const pid = deadPid();
    writeClaim(root, { key: 'k', pid });
    const r = acquireClaim(root, 'k', 'job k', { slurm: null });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.tookOver?.pid).toBe(pid);
      expect(r.tookOver?.state).toBe('dead');
      expect(readClaim(claimsDir(root), 'k')?.pid).toBe(process.pid);
    }
  });

  it('a claim from another host is left alone while fresh and taken over once stale', () => {
    const root = freshRoot();
    const old = new Date(Date.now() - 120_000).toISOString();
    writeClaim(root, { key: 'k', host: 'elsewhere', pid: 1, refreshedAt: old });
    const fresh = acquireClaim(root, 'k', 'job k', { slurm: null, staleSeconds: 600 });
    expect(fresh.ok).toBe(false);
    const stale = acquireClaim(root, 'k', 'job k', { slurm: null, staleSeconds: 60 });
    expect(stale.ok).toBe(true);
    if (stale.ok) expect(stale.tookOver?.state).toBe('stale');
  });

  it('a claim of a Slurm job that Slurm says has ended is dead; the same array task requeued takes its own claim', () => {
    const c: ClaimInfo = { key: 'k', job: 'j', host: 'node7', pid: 42, slurm: { jobId: '12', arrayJobId: '10', arrayTaskId: '2' }, startedAt: new Date().toISOString(), refreshedAt: new Date().toISOString(), token: 't' };
    expect(holderState(c, { slurm: null, slurmEnded: () => false })).toBe('alive');
    expect(holderState(c, { slurm: null, slurmEnded: () => true })).toBe('dead');
    expect(holderState(c, { slurm: null, slurmEnded: () => undefined })).toBe('alive');
    expect(holderState(c, { slurm: { jobId: '12', arrayJobId: '10', arrayTaskId: '2', restartCount: 1 }, slurmEnded: () => false })).toBe('dead');
    // the same task not requeued (two processes in one allocation): the other one is alive
    expect(holderState(c, { slurm: { jobId: '12', arrayJobId: '10', arrayTaskId: '2' }, slurmEnded: () => false })).toBe('alive');
    expect(holderState(c, { slurm: { jobId: '13', arrayJobId: '10', arrayTaskId: '3' }, slurmEnded: () => false })).toBe('alive');
  });

  it('refresh keeps a claim fresh; a holder whose claim was taken over finds out', () => {
    const root = freshRoot();
    let t = Date.now();
    const r = acquireClaim(root, 'k', 'job k', { slurm: null, now: () => t, host: 'a', staleSeconds: 60 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    t += 50_000;
    expect(r.claim.refresh()).toBe(true);
    t += 50_000; // 50 s after the refresh: still fresh for another host
    expect(acquireClaim(root, 'k', 'job k', { slurm: null, now: () => t, host: 'b', staleSeconds: 60 }).ok).toBe(false);
    t += 20_000; // 70 s: stale
    const other = acquireClaim(root, 'k', 'job k', { slurm: null, now: () => t, host: 'b', staleSeconds: 60 });
    expect(other.ok).toBe(true);
    expect(r.claim.held()).toBe(false);
    expect(r.claim.refresh()).toBe(false);
    r.claim.release(); // not ours any more: must not remove the new holder's claim
    expect(readClaim(claimsDir(root), 'k')?.host).toBe('b');
  });

  it('claim keys are file-name safe and differ by identity', () => {
    expect(claimKey('configs/lra/listops/mini.yaml|attention.type=flow', 'lra-listops-flow-s0')).toMatch(/^lra-listops-flow-s0-[0-9a-f]{16}$/);
    expect(claimKey('a')).not.toBe(claimKey('b'));
    expect(slurmIdsFromEnv({ SLURM_JOB_ID: '7', SLURM_ARRAY_JOB_ID: '5', SLURM_ARRAY_TASK_ID: '1', SLURMD_NODENAME: 'gpu3', SLURM_RESTART_COUNT: '2' })).toEqual({ jobId: '7', arrayJobId: '5', arrayTaskId: '1', node: 'gpu3', restartCount: 2 });
    expect(slurmIdsFromEnv({})).toBeUndefined();
  });

  /** `count` claimant processes that try at the same moment (claim-worker.ts). */
  const race = async (root: string, count: number, holdMs: number): Promise<{ outs: string[]; log: string[] }> => {
    const log = path.join(root, 'log');
    const go = path.join(root, 'go');
    const runs = Array.from({ length: count }, () =>
      new Promise<string>((resolve, reject) =>
        execFile(tsx, [path.join(here, 'claim-worker.ts'), root, 'k', go, String(holdMs), log], (e, out) => (e ? reject(e) : resolve(out.trim()))),
      ),
    );
    while (fs.readdirSync(root).filter((f) => f.startsWith('go.')).length < count) await new Promise((r) => setTimeout(r, 20));
    fs.writeFileSync(go, '');
    const outs = await Promise.all(runs);
    return { outs, log: fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [] };
  };

  it('racing claimants (real processes): exactly one wins', async () => {
    const root = freshRoot();
    const { outs, log } = await race(root, 3, 300);
    expect(outs.filter((o) => o.startsWith('won'))).toHaveLength(1);
    expect(outs.filter((o) => o === 'lost')).toHaveLength(2);
    expect(log).toHaveLength(2);
  }, 240_000);

  it('racing claimants over a dead holder\'s claim (real processes): exactly one takes it over', async () => {
    const root = freshRoot();
    writeClaim(root, { key: 'k', pid: deadPid() });
    const { outs } = await race(root, 3, 300);
    expect(outs.filter((o) => o === 'won-takeover')).toHaveLength(1);
    expect(outs.filter((o) => o === 'lost')).toHaveLength(2);
  }, 240_000);
});
