/**
 * A run's summary.json: what is fixed for the run (task, config, size, command...) and where
 * it stands (status, best, final, updates, time). Written before the first update ('running',
 * with this process's pid and host, so that a killed run reads as abandoned rather than
 * running), after every evaluation, and at the end.
 */
import os from 'node:os';
import type { TrainableTask } from './task-contract.ts';
import type { ResolvedConfig } from '../config/load.ts';
import type { RunRecord, RunSummary } from './run-record.ts';
import type { RunState } from './resume.ts';

/** What does not change while a run trains. */
export interface RunFacts {
  task: TrainableTask;
  resolved: ResolvedConfig;
  run: RunRecord;
  evalSplit: string;
  totalSteps: number;
  stepsPerEpoch: number;
  params: number;
  backend: string;
  /** The command line that started the run (a resumed run keeps it: its `--set`s are part of the setting). */
  command: string;
  /** The command lines that resumed it, oldest first, this one last. */
  resumeCommands: string[];
  dataInfo: Record<string, unknown>;
}

export function runSummary(f: RunFacts, s: RunState, status: RunSummary['status'], lastLoss: number | null, wallSeconds: number): RunSummary {
  const { config } = f.resolved;
  return {
    task: f.task.name,
    dataset: config.dataset,
    model: config.model.name,
    attention: config.attention.type,
    configName: f.resolved.name,
    configPath: f.resolved.path,
    runId: f.run.runId,
    runDir: f.run.dir,
    status,
    metric: { ...f.task.metric, split: f.evalSplit },
    best: s.best,
    final: s.final,
    test: null,
    steps: s.step,
    totalSteps: f.totalSteps,
    epochs: s.step / f.stepsPerEpoch,
    lastLoss,
    params: f.params,
    wallSeconds,
    backend: f.backend,
    seed: config.seed,
    command: f.command,
    ...(f.resumeCommands.length ? { resumeCommands: f.resumeCommands } : {}),
    gitCommit: s.gitCommit,
    ...(s.resumedCommits.length ? { resumedCommits: s.resumedCommits } : {}),
    ...(status === 'running' ? { pid: process.pid, host: os.hostname() } : {}),
    dataInfo: f.dataInfo,
    startedAt: s.startedAt,
    finishedAt: new Date().toISOString(),
  };
}
