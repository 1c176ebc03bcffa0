/**
 * `reproduce --launcher slurm` against a real one-node Slurm of this machine
 * (scripts/slurm-local.sh: Debian's slurm-wlm and munge, started here). A short ListOps mini
 * table (listops x flow, softmax; a few dozen updates) is:
 *   - submitted with --wait, and gives the same numbers as a local `reproduce`;
 *   - interrupted by scancel of one array task mid-run, resubmitted, and resumed from its
 *     ckpt/last with its earlier updates kept (each update logged once);
 *   - submitted twice at once, and every job trains exactly once (one run folder each).
 * Without Slurm (not root, no apt) the tests are skipped, except with CI=true, where they fail.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const bin = path.resolve(here, '../bin/flowformer.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-slurm-'));
const dataRoot = path.join(tmp, 'data');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const up = spawnSync('bash', [path.join(repoRoot, 'scripts/slurm-local.sh')], { encoding: 'utf8', timeout: 600_000 });
const slurmUp = up.status === 0;
if (!slurmUp && process.env.CI === 'true') throw new Error(`CI: Slurm did not start (scripts/slurm-local.sh exit ${up.status}):\n${up.stdout}\n${up.stderr}`);

const env = { ...process.env, FLOWFORMER_BACKEND: process.env.FLOWFORMER_BACKEND ?? 'tensorflow', FLOWFORMER_SLURM_POLL_SECONDS: '1' };
/** The table: ListOps mini, two attentions, `steps` updates, evaluated every 10. */
const table = (root: string, steps: number, attentions = 'flow,softmax') => [
  'reproduce', '--table', 'lra', '--scale', 'mini', '--only', 'listops', '--attentions', attentions,
  '--set', `training.steps=${steps}`, '--set', 'evaluation.every=10', '--results-root', root, '--data-root', dataRoot,
];

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => resolve({ code, out }));
  });
}

interface Summary { status: string; steps: number; runDir: string; attention: string; resumeCommands?: string[]; slurm?: { jobId: string; arrayJobId?: string; arrayTaskId?: string; node?: string; earlier?: unknown[] } }
function summaries(root: string): (Summary & { dir: string })[] {
  const d = path.join(root, 'runs', 'lra', 'listops-mini');
  if (!fs.existsSync(d)) return [];
  return fs.readdirSync(d).filter((r) => fs.existsSync(path.join(d, r, 'summary.json'))).map((r) => ({ ...(JSON.parse(fs.readFileSync(path.join(d, r, 'summary.json'), 'utf8')) as Summary), dir: path.join(d, r) }));
}
const trainSteps = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number }).filter((l) => l.type === 'train').map((l) => l.step);
const cells = (root: string) => (JSON.parse(fs.readFileSync(path.join(root, 'tables', 'lra-mini.json'), 'utf8')) as { rows: { row: string; cells: { attention: string; ours: { values: number[] } | null }[] }[] }).rows.flatMap((r) => r.cells.map((c) => [`${r.row}/${c.attention}`, c.ours?.values ?? null]));

describe.skipIf(!slurmUp)('reproduce --launcher slurm on a real one-node Slurm', () => {
  beforeAll(async () => {
    // The ListOps mini data once, so that the jobs do not all generate it at the same time.
    const r = await run(['data', 'generate', '--task', 'lra', '--dataset', 'listops', '--size', 'mini', '--data-root', dataRoot]);
    expect(r.code, r.out).toBe(0);
  }, 300_000);

  it('--wait runs the table as a job array plus a collect job, and gives the same numbers as a local reproduce', async () => {
    const onSlurm = path.join(tmp, 'slurm');
    const local = path.join(tmp, 'local');
    const [s, l] = await Promise.all([run([...table(onSlurm, 20), '--launcher', 'slurm', '--wait']), run([...table(local, 20), '--jobs', '2'])]);
    expect(s.code, s.out).toBe(0);
    expect(l.code, l.out).toBe(0);
    expect(s.out).toMatch(/submitted job array \d+ \(2 tasks: 0=lra-listops-flow-s0, 1=lra-listops-softmax-s0\)/);
    expect(s.out).toMatch(/collect job \d+: completed; 2 of 2 jobs completed/);
    const runs = summaries(onSlurm);
    expect(runs.map((r) => r.status)).toEqual(['completed', 'completed']);
    for (const r of runs) {
      expect(r.slurm?.node).toBe(os.hostname().split('.')[0]);
      expect(r.slurm?.arrayJobId).toMatch(/^\d+$/);
      expect(['0', '1']).toContain(r.slurm?.arrayTaskId);
    }
    // Both tables name the same values in every cell: the same training, bit for bit.
    expect(cells(onSlurm)).toEqual(cells(local));
    expect(cells(onSlurm).filter(([, v]) => v !== null)).toHaveLength(2);
    const status = await run([...table(onSlurm, 20), '--status']);
    expect(status.out).toMatch(/completed\s+lra-listops-flow-s0/);
    expect(status.out).toMatch(/2 completed/);
  }, 900_000);

  it('an array task cancelled mid-run (scancel) resumes from its ckpt/last on the next submission, its earlier updates kept', async () => {
    const root = path.join(tmp, 'cancel');
    const first = await run([...table(root, 60, 'flow'), '--launcher', 'slurm']);
    expect(first.code, first.out).toBe(0);
    const arrayId = /submitted job array (\d+)/.exec(first.out)![1]!;
    // Wait until the run has logged some updates (its summary is rewritten at each evaluation).
    const t0 = Date.now();
    while ((summaries(root)[0]?.steps ?? 0) < 10) {
      if (Date.now() - t0 > 600_000) throw new Error(`no progress: ${first.out}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    spawnSync('scancel', [`${arrayId}_0`]);
    while (!['interrupted', 'completed'].includes(summaries(root)[0]?.status ?? '')) await new Promise((r) => setTimeout(r, 500));
    const cut = summaries(root)[0]!;
    expect(cut.status).toBe('interrupted');
    expect(cut.steps).toBeGreaterThanOrEqual(10);
    expect(cut.steps).toBeLessThan(60);
    const stepsBefore = trainSteps(cut.dir);
    const status = await run([...table(root, 60, 'flow'), '--status']);
    expect(status.out).toMatch(new RegExp(`interrupted\\s+lra-listops-flow-s0 .* at update ${cut.steps} of 60`));

    const again = await run([...table(root, 60, 'flow'), '--launcher', 'slurm', '--wait']);
    expect(again.code, again.out).toBe(0);
    const runs = summaries(root);
    expect(runs).toHaveLength(1); // the same run folder, resumed
    expect(runs[0]!.status).toBe('completed');
    expect(runs[0]!.steps).toBe(60);
    expect(runs[0]!.resumeCommands).toHaveLength(1);
    expect(runs[0]!.slurm?.earlier).toHaveLength(1);
    const steps = trainSteps(runs[0]!.dir);
    expect(new Set(steps).size).toBe(steps.length); // nothing counted twice
    expect(steps.slice(0, stepsBefore.length)).toEqual(stepsBefore); // nothing lost
    expect(Math.max(...steps)).toBe(60);
    const log = fs.readFileSync(path.join(root, 'tables', 'logs', 'lra', `slurm-${/submitted job array (\d+)/.exec(again.out)![1]}_0.out`), 'utf8');
    expect(log).toMatch(new RegExp(`resuming .* from update ${cut.steps} of 60`));
  }, 900_000);

  it('the same table submitted twice at once trains every job exactly once', async () => {
    const root = path.join(tmp, 'twice');
    const [a, b] = await Promise.all([run([...table(root, 20), '--launcher', 'slurm', '--wait']), run([...table(root, 20), '--launcher', 'slurm', '--wait'])]);
    expect(a.code, a.out).toBe(0);
    expect(b.code, b.out).toBe(0);
    const runs = summaries(root);
    expect(runs.map((r) => r.attention).sort()).toEqual(['flow', 'softmax']); // one run folder per job
    for (const r of runs) {
      expect(r.status).toBe('completed');
      expect(r.resumeCommands ?? []).toHaveLength(0);
      const steps = trainSteps(r.dir);
      expect(new Set(steps).size).toBe(steps.length);
    }
    // Each job's four array tasks (two per submission): one trained it, the others found it claimed or done.
    const outs = fs.readdirSync(path.join(root, 'tables', 'logs', 'lra')).filter((f) => /^slurm-\d+_\d\.out$/.test(f)).map((f) => fs.readFileSync(path.join(root, 'tables', 'logs', 'lra', f), 'utf8'));
    expect(outs).toHaveLength(4);
    expect(outs.filter((o) => /: starting/.test(o))).toHaveLength(2);
    expect(outs.filter((o) => /completed already|claimed by/.test(o))).toHaveLength(2);
  }, 900_000);
});
