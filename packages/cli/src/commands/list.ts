import type { CommandModule } from 'yargs';
import path from 'node:path';
import { formatAttentionList, listConfigFiles } from '@flowformer/core';
import { canResume, tableSpecs, type Scale, formatSeconds, isResumable, isUnfinished, readRunSummaries, relativeTo, runState, stateText, supersededBy, type RunState, type RunSummary } from '@flowformer/core/results';
import { discoverTasks } from '../discover.ts';
import { repoRoot } from '../paths.ts';
import { runRoots } from './train.ts';

interface ListArgs {
  what?: string;
  task?: string;
  unfinished?: boolean;
  json?: boolean;
  'results-root'?: string;
}

/** One line per run record: how it stands (abandoned included), how far, its best so far. */
function listRuns(args: ListArgs): void {
  const { resultsRoot } = runRoots(args);
  const root = repoRoot();
  const all = readRunSummaries(resultsRoot);
  const stateOf = new Map(all.map((s) => [s, runState(s)] as const)); // once per record: it may probe a pid
  const running = (r: RunSummary) => stateOf.get(r) === 'running';
  // Why an unfinished run will not go on: a later run of the same setting completed, or one is
  // running, or there is no ckpt/last here (a committed or copied record, or a run killed before
  // its first checkpoint).
  const noteOf = (s: RunSummary, state: RunState): string => {
    const later = isUnfinished(state) ? supersededBy(s, all) : undefined;
    if (later) return `superseded: ${later.runId} completed`;
    const again = isResumable(state) ? supersededBy(s, all, running) : undefined;
    if (again) return `run again: ${again.runId} running`;
    if (isResumable(state) && !canResume(s, state)) return 'no ckpt/last here: cannot resume';
    return '';
  };
  const rows = all
    .filter((s) => !args.task || s.task === args.task)
    .map((s) => ({ s, state: stateOf.get(s)! }))
    .filter(({ state }) => !args.unfinished || isUnfinished(state))
    .sort((a, b) => (a.s.startedAt < b.s.startedAt ? -1 : 1))
    .map(({ s, state }) => ({ s, state, note: noteOf(s, state) }));
  if (args.json) {
    const out = rows.map(({ s, state }) => ({ state, resumable: canResume(s, state), supersededBy: supersededBy(s, all)?.runDir ?? null, runningAgain: supersededBy(s, all, running)?.runDir ?? null, task: s.task, config: s.configName, attention: s.attention, seed: s.seed, steps: s.steps, totalSteps: s.totalSteps, best: s.best, metric: s.metric, wallSeconds: s.wallSeconds, backend: s.backend, startedAt: s.startedAt, runDir: s.runDir }));
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  if (rows.length === 0) {
    console.log(`No ${args.unfinished ? 'unfinished ' : ''}run${args.task ? ` of task ${args.task}` : ''} under ${resultsRoot}/runs.`);
    return;
  }
  const best = (s: RunSummary) => (s.best ? `${s.metric.split} ${s.metric.name} ${s.best.value.toFixed(4)} @ ${s.best.step}` : '-');
  // Time left at the run's average pace so far (as of its last record): a guide, not a promise.
  const left = (s: RunSummary, state: RunState, note: string) =>
    isUnfinished(state) && s.steps > 0 && s.steps < s.totalSteps && !note ? `~${formatSeconds(((s.totalSteps - s.steps) * s.wallSeconds) / s.steps)}` : '-';
  const table: string[][] = [['state', 'run', 'seed', 'updates', 'best so far', 'time', 'left', 'backend', 'note']];
  for (const { s, state, note } of rows)
    table.push([state, relativeTo(root, s.runDir), String(s.seed), `${s.steps}/${s.totalSteps}`, best(s), formatSeconds(s.wallSeconds), left(s, state, note), s.backend, note]);
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  const resumable = rows.filter(({ s, state, note }) => canResume(s, state) && !note);
  const counts = new Map<RunState, number>();
  for (const { state } of rows) counts.set(state, (counts.get(state) ?? 0) + 1);
  console.log(`\n${rows.length} run(s): ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}.`);
  if (rows.some(({ state }) => state === 'abandoned')) console.log(`${stateText('abandoned')}: the record says running, but no process of this machine writes it any more (killed or crashed).`);
  if (rows.some(({ note }) => note.startsWith('no ckpt')))
    console.log('no ckpt/last here: checkpoints are never committed, so a record from another machine (or a run killed before its first checkpoint) cannot be resumed; `flowformer reproduce` starts its job over.');
  if (resumable.length) console.log(`Continue one with: flowformer train --resume ${relativeTo(root, resumable.at(-1)!.s.runDir)}`);
}

/** Every declared table: per scale its rows and its columns (recipe, source, paper or extra). */
function listTables(): void {
  const specs = tableSpecs();
  if (specs.length === 0) {
    console.log('No task declares a table (a Task lists them in its `tables` field; see docs/adding-a-task.md).');
    return;
  }
  for (const s of specs) {
    console.log(`${s.name}  (task ${s.task})${s.describe ? `  ${s.describe}` : ''}`);
    for (const scale of s.scales ?? (['paper', 'mini'] as Scale[])) {
      console.log(`  ${scale}: rows ${s.rows(scale).map((r) => r.row).join(', ')}${s.seeds?.(scale) ? `; seeds ${s.seeds(scale)!.join(',')}` : ''}`);
      for (const c of s.columns(scale))
        console.log(`    ${c.key.padEnd(16)} ${c.kind === 'paper' ? `paper: ${c.paperMethod}` : 'extra'} | ${c.recipe} | source: ${c.source}`);
    }
  }
}

export const listCommand: CommandModule<object, ListArgs> = {
  command: 'list [what]',
  describe: 'List the registered tasks with their datasets and shipped configs (or: list tables, list attentions, list runs)',
  builder: (y) =>
    y
      .positional('what', { choices: ['tasks', 'tables', 'attentions', 'runs'], default: 'tasks', describe: 'what to list' })
      .option('task', { type: 'string', describe: 'list runs: only this task' })
      .option('unfinished', { type: 'boolean', describe: 'list runs: only interrupted, stopped, running or abandoned runs (those that can go on)' })
      .option('json', { type: 'boolean', describe: 'list runs: as JSON' })
      .option('results-root', { type: 'string', describe: 'list runs: where runs/ is read; default $FLOWFORMER_RESULTS_ROOT or <repo>/results' })
      .example('$0 list', 'tasks, datasets and configs')
      .example('$0 list tables', 'the result tables the tasks declare: rows, and columns as recipes with their sources')
      .example('$0 list attentions', 'the attention types a config can select')
      .example('$0 list runs --unfinished', 'runs that can be resumed or are still going, how far they got, and which cannot go on (superseded by a later run, or no checkpoint here)') as never,
  handler: async (args) => {
    if (args.what === 'attentions') {
      process.stdout.write(formatAttentionList());
      return;
    }
    if (args.what === 'runs') {
      listRuns(args);
      return;
    }
    const tasks = await discoverTasks();
    if (args.what === 'tables') {
      listTables();
      return;
    }
    if (tasks.length === 0) {
      console.log('No task packages found. A task package declares "flowformer": {"task": "./src/task.ts"} in its package.json.');
      return;
    }
    for (const { task, packageName } of tasks) {
      console.log(`${task.name}  (${packageName})${task.description ? `  ${task.description}` : ''}`);
      for (const d of task.datasets ?? []) console.log(`  dataset ${d.name.padEnd(22)} ${d.description}`);
      for (const f of listConfigFiles(path.join(repoRoot(), 'configs'), task.name)) {
        console.log(`  config  ${path.relative(repoRoot(), f.path)}`);
      }
    }
  },
};
