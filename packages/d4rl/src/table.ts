/**
 * `results/tables/d4rl.md`: our finished runs beside the paper's table. Reads every
 * `results/runs/d4rl/<config>/<run-id>/summary.json`, keeps the completed runs, takes the
 * normalised score of each run's LAST evaluation (the original reports the model after its
 * final iteration), and groups them by dataset and model (one entry per seed).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunSummary } from '@flowformer/core';
import { paperComparisonMarkdown } from './paper.ts';

export interface D4rlRunScores {
  /** runs[dataset][model] = final scores, one per run. */
  runs: Record<string, Record<string, number[]>>;
  /** Runs that were read but not counted, with why. */
  skipped: { runDir: string; reason: string }[];
  /** Counted runs (for the table's notes). */
  counted: { dataset: string; model: string; seed: number; score: number; steps: number; file: unknown }[];
}

export function collectD4rlRuns(resultsRoot: string): D4rlRunScores {
  const out: D4rlRunScores = { runs: {}, skipped: [], counted: [] };
  const base = path.join(resultsRoot, 'runs', 'd4rl');
  if (!existsSync(base)) return out;
  for (const config of readdirSync(base)) {
    const cdir = path.join(base, config);
    for (const run of readdirSync(cdir)) {
      const f = path.join(cdir, run, 'summary.json');
      if (!existsSync(f)) continue;
      let s: RunSummary;
      try {
        s = JSON.parse(readFileSync(f, 'utf8')) as RunSummary;
      } catch (e) {
        out.skipped.push({ runDir: path.dirname(f), reason: `unreadable summary.json (${(e as Error).message})` });
        continue;
      }
      const score = s.final?.metrics.score;
      if (s.status !== 'completed') out.skipped.push({ runDir: s.runDir, reason: `status ${s.status}` });
      else if (typeof score !== 'number') out.skipped.push({ runDir: s.runDir, reason: 'no final score' });
      else {
        ((out.runs[s.dataset] ??= {})[s.model] ??= []).push(score);
        out.counted.push({ dataset: s.dataset, model: s.model, seed: s.seed, score, steps: s.steps, file: s.dataInfo?.file });
      }
    }
  }
  return out;
}

/** The whole markdown file. */
export function d4rlTableMarkdown(resultsRoot: string, models: string[] = ['dt', 'flowformer']): string {
  const r = collectD4rlRuns(resultsRoot);
  const lines = [
    '# D4RL: normalised scores (x 100), ours beside the paper',
    '',
    'Paper: Flowformer (ICML 2022), offline-RL table. Ours: the final evaluation of each completed run in',
    '`results/runs/d4rl/` (mean +- std over seeds, number of seeds in parentheses); "-" = not run here.',
    '',
    paperComparisonMarkdown(r.runs, models),
  ];
  if (r.counted.length > 0) {
    lines.push('Runs counted:', '');
    for (const c of r.counted) lines.push(`- ${c.dataset} ${c.model} seed ${c.seed}: ${c.score.toFixed(1)} after ${c.steps} updates (data: ${String(c.file)})`);
    lines.push('');
  }
  if (r.skipped.length > 0) {
    lines.push('Not counted:', '');
    for (const s of r.skipped) lines.push(`- ${s.runDir}: ${s.reason}`);
    lines.push('');
  }
  return lines.join('\n');
}
