/**
 * The launcher's parts that need no Slurm: the batch scripts `--launcher slurm --dry-run`
 * prints (every sbatch option in place), and `reproduce --status` over run records, claims and
 * logs of every kind (completed, running under a live claim, interrupted, abandoned, failed,
 * not started). The real-Slurm behaviour is in slurm.test.ts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../bin/flowformer.js');
const repoRoot = path.resolve(here, '../../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-launch-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, FLOWFORMER_BACKEND: 'cpu' }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A run record of ListOps mini with `attention`, as the trainer writes it. */
function record(root: string, attention: string, status: string, steps: number, extra: Record<string, unknown> = {}) {
  const runDir = path.join(root, 'runs', 'lra', 'listops-mini', `20260101-00000${attention.length}-s0`);
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify({
    task: 'lra', dataset: 'listops', model: 'm', attention, configName: 'listops-mini', configPath: path.join(repoRoot, 'configs/lra/listops/mini.yaml'), runId: path.basename(runDir), runDir, status,
    metric: { name: 'accuracy', mode: 'max', split: 'valid' }, best: null, final: null, test: null, steps, totalSteps: 100, epochs: 1, lastLoss: 1, params: 1, wallSeconds: 1, backend: 'cpu', seed: 0,
    command: `flowformer train --config configs/lra/listops/mini.yaml --set attention.type=${attention}`, gitCommit: null, dataInfo: {}, startedAt: '', finishedAt: '', ...extra,
  }));
  return runDir;
}

describe('reproduce launchers without Slurm', () => {
  it('--launcher slurm --dry-run prints the array and collect scripts with every option', () => {
    const r = run(['reproduce', '--table', 'lra', '--scale', 'mini', '--only', 'listops', '--attentions', 'flow,softmax', '--seeds', '0,1', '--results-root', tmp,
      '--launcher', 'slurm', '--dry-run', '--partition', 'gpu', '--gpus-per-job', '1', '--cpus-per-job', '8', '--mem', '32G', '--time', '1-00:00:00', '--max-parallel', '3', '--requeue', '--sbatch-arg=--account=proj42', '--sbatch-arg=--qos=high']);
    expect(r.code, r.err).toBe(0);
    for (const line of ['#SBATCH --array=0-3%3', '#SBATCH --partition=gpu', '#SBATCH --gres=gpu:1', '#SBATCH --cpus-per-task=8', '#SBATCH --mem=32G', '#SBATCH --time=1-00:00:00', '#SBATCH --signal=B:USR2@120', '#SBATCH --requeue', '#SBATCH --account=proj42', '#SBATCH --qos=high', '#SBATCH --dependency=afterany:<array job id>'])
      expect(r.out).toContain(line);
    // one task per job in plan order, each the same reproduce options plus --run-job
    expect(r.out).toMatch(/JOBS=\(\n  lra-listops-flow-s0\n  lra-listops-flow-s1\n  lra-listops-softmax-s0\n  lra-listops-softmax-s1\n\)/);
    expect(r.out).toMatch(/reproduce --table lra --scale mini --attentions flow,softmax --seeds 0,1 --only listops --results-root \S+ --run-job "\$\{JOBS\[\$SLURM_ARRAY_TASK_ID\]\}" --requeue/);
    expect(r.out).toMatch(/reproduce --table lra --scale mini .* --collect\n/);
    expect(fs.existsSync(path.join(tmp, 'tables', 'slurm'))).toBe(false); // nothing written, nothing submitted
    const gpus = run(['reproduce', '--table', 'lra', '--scale', 'mini', '--only', 'listops', '--results-root', tmp, '--launcher', 'slurm', '--dry-run', '--gpus-per-job', '2', '--gpu-flag', 'gpus']);
    expect(gpus.out).toContain('#SBATCH --gpus=2');
  }, 240_000);

  it('--status names every job\'s state', () => {
    const root = path.join(tmp, 'status');
    record(root, 'flow', 'completed', 100);
    record(root, 'softmax', 'interrupted', 40);
    // a 'running' record whose process is gone (a dead pid on this host): abandoned
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    record(root, 'performer', 'running', 20, { pid: Number(dead.stdout), host: os.hostname() });
    // reformer: its local log says why it failed before writing a record
    fs.mkdirSync(path.join(root, 'tables', 'logs', 'lra'), { recursive: true });
    fs.writeFileSync(path.join(root, 'tables', 'logs', 'lra', 'lra-listops-reformer-s0.log'), '$ node flowformer train ...\nError: configs/lra/listops/mini.yaml: data.dir: no such folder\n');
    // linear: a live process on this machine (this test's) is training it
    record(root, 'linear', 'running', 55, { pid: process.pid, host: os.hostname() });
    const dry = run(['reproduce', '--table', 'lra', '--scale', 'mini', '--only', 'listops', '--attentions', 'flow,softmax,performer,reformer,linear,cosformer', '--results-root', root, '--status']);
    expect(dry.code, dry.err).toBe(0);
    const out = dry.out;
    expect(out).toMatch(/completed\s+lra-listops-flow-s0\s+\S+listops-mini\/20260101-000004-s0/);
    expect(out).toMatch(/interrupted\s+lra-listops-softmax-s0 .* at update 40 of 100; no ckpt\/last here: it starts over/);
    expect(out).toMatch(/abandoned\s+lra-listops-performer-s0 .* at update 20 of 100: its worker is gone; the next submission starts it over \(no ckpt\/last\)/);
    expect(out).toMatch(/failed\s+lra-listops-reformer-s0\s+no run; log \S+lra-listops-reformer-s0\.log\n\s+\| \$ node flowformer train \.\.\.\n\s+\| Error: configs\/lra\/listops\/mini\.yaml: data\.dir: no such folder/);
    expect(out).toMatch(/running\s+lra-listops-linear-s0\s+update 55 of 100, on \S+, pid \d+/);
    expect(out).toMatch(/not started\s+lra-listops-cosformer-s0/);
  }, 240_000);
});
