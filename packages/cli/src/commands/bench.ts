import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { getTask, loadConfig, DEFAULT_CHUNK_SIZE, backendInfo, initBackend, type Task, type TaskBenchResult } from '@flowformer/core';
import { BACKWARD_PASSES, benchTrainStep, readStepPeer, stepComparisons, formatStepBenchTable, formatStepProfile, type BackwardPass, BENCH_VARIANTS, DEFAULT_BENCH_LENGTHS, DEFAULT_BENCH_VARIANTS, benchAttention, formatAttentionBenchTable, type AttentionBenchRow, type BenchVariant } from '@flowformer/core/bench';
import { benchSummaryBlock, benchSummaryFor, chartsSvg, markdownTable, svgToPng, writeBenchSummary, type Series } from '@flowformer/core/results';
import type { DiscoveredTask } from '../discover.ts';
import { cliDataRoot } from '../paths.ts';
import { runRoots } from './train.ts';
import { declareTaskOptions, taskOptionValues } from '../task-options.ts';

interface BenchAttentionArgs {
  lengths: number[];
  variants: string[];
  B: number;
  H: number;
  D: number;
  runs: number;
  warmup: number;
  'chunk-size'?: number;
  'memory-limit-gb'?: number;
  json?: boolean;
  out?: string;
  backend?: string;
}

/** The flags every timing benchmark has: how many timed and untimed repetitions, and where the result goes. */
function timingOptions<T>(y: Argv<T>, o: { runs: number; each: string; json: string; out: string }) {
  return y
    .option('runs', { type: 'number', default: o.runs, describe: `timed ${o.each} (median reported)` })
    .option('warmup', { type: 'number', default: 1, describe: `untimed ${o.each.split(' ')[0]} first` })
    .option('json', { type: 'boolean', describe: `print ${o.json} as JSON on stdout` })
    .option('out', { type: 'string', describe: `also write ${o.out} into this folder` });
}

/** Initialises the backend a benchmark runs on and says which (on stderr): its numbers depend on it. */
async function startBackend(name: string | undefined) {
  await initBackend(name as never);
  const info = backendInfo();
  console.error(`backend ${info.backend}${info.threads ? `, ${info.threads} threads` : ''}`);
  return info;
}

/** Time and memory against L for each variant, log-log, as one PNG with two panels. */
async function writePlot(rows: AttentionBenchRow[], file: string): Promise<void> {
  const byVariant = new Map<string, AttentionBenchRow[]>();
  for (const r of rows) if (r.fwdBwdMs != null) byVariant.set(r.variant, [...(byVariant.get(r.variant) ?? []), r]);
  const series = (pick: (r: AttentionBenchRow) => number): Series[] =>
    [...byVariant].map(([name, rs]) => ({ name, points: rs.map((r) => [r.L, pick(r)] as [number, number]) }));
  const { B, H, D, backend } = rows[0]!;
  const svg = chartsSvg([
    { series: series((r) => r.fwdBwdMs!), opts: { title: `forward+backward time (B=${B}, H=${H}, D=${D}, ${backend})`, xLabel: 'sequence length L', yLabel: 'ms (log)', logX: true, logY: true, width: 560, height: 380 } },
    { series: series((r) => r.peakBytes! / 2 ** 20), opts: { title: 'peak tensor memory', xLabel: 'sequence length L', yLabel: 'MiB (log)', logX: true, logY: true, width: 560, height: 380 } },
  ]);
  await svgToPng(svg, file);
}

const attentionBench: CommandModule<object, BenchAttentionArgs> = {
  command: 'attention',
  describe: 'Forward+backward time and peak memory of softmax vs Flow-Attention as L grows',
  builder: (y) =>
    timingOptions(y, { runs: 5, each: 'runs per configuration', json: 'the rows', out: 'attention.md, attention.json and attention.png' })
      .option('lengths', { type: 'number', array: true, default: [...DEFAULT_BENCH_LENGTHS], describe: 'sequence lengths L' })
      .option('variants', { type: 'string', array: true, choices: [...BENCH_VARIANTS], default: [...DEFAULT_BENCH_VARIANTS], describe: 'what to measure' })
      .option('B', { type: 'number', default: 1, describe: 'batch size' })
      .option('H', { type: 'number', default: 8, describe: 'heads' })
      .option('D', { type: 'number', default: 64, describe: 'head size' })
      .option('chunk-size', { type: 'number', describe: `chunk size of the chunked causal form (default ${DEFAULT_CHUNK_SIZE})` })
      .option('memory-limit-gb', { type: 'number', describe: 'skip configurations whose estimated peak is above this' })
      .example('$0 bench attention', 'the default sweep: L = 256 ... 16384, B=1, H=8, D=64')
      .example('$0 bench attention --lengths 1024 4096 8192 --variants flow flow-causal-chunked --out results/bench', 'a custom sweep, with table and plot') as never,
  handler: async (args) => {
    const info = await startBackend(args.backend);
    const rows = await benchAttention({
      lengths: args.lengths,
      variants: args.variants as BenchVariant[],
      B: args.B,
      H: args.H,
      D: args.D,
      runs: args.runs,
      warmup: args.warmup,
      chunkSize: args['chunk-size'],
      memoryLimitBytes: args['memory-limit-gb'] ? args['memory-limit-gb'] * 2 ** 30 : undefined,
      onRow: (r) =>
        console.error(
          `  ${r.variant.padEnd(22)} L=${String(r.L).padEnd(6)} ${r.skipped ? `skipped: ${r.skipped}` : `${r.fwdBwdMs!.toFixed(1)} ms, ${(r.peakBytes! / 2 ** 20).toFixed(1)} MiB`}`,
        ),
    });
    const table = formatAttentionBenchTable(rows);
    if (args.json) console.log(JSON.stringify(rows, null, 2));
    else console.log('\n' + table);
    if (args.out) {
      fs.mkdirSync(args.out, { recursive: true });
      const cmd = ['flowformer', ...process.argv.slice(2)].join(' ');
      fs.writeFileSync(path.join(args.out, 'attention.md'), `# Attention benchmark\n\nCommand: \`${cmd}\`\n\nBackend: ${info.backend}${info.threads ? ` (${info.threads} threads)` : ''}, ${new Date().toISOString()}, load average ${os.loadavg()[0]!.toFixed(1)} when it ended\n\n${table}`);
      fs.writeFileSync(path.join(args.out, 'attention.json'), JSON.stringify({ command: cmd, backend: info, rows }, null, 2) + '\n');
      await writePlot(rows, path.join(args.out, 'attention.png'));
      console.error(`wrote ${path.join(args.out, 'attention.{md,json,png}')}`);
    }
  },
};

interface BenchStepArgs {
  config: string;
  set?: string[];
  'batch-size'?: number;
  backward: string[];
  update?: boolean;
  profile?: boolean;
  peer?: string;
  runs: number;
  warmup: number;
  json?: boolean;
  out?: string;
  backend?: string;
  'data-root'?: string;
}

/** `flowformer bench step`: one training step of a real config, timed and weighed (core bench/step.ts). */
const stepBench: CommandModule<object, BenchStepArgs> = {
  command: 'step',
  describe: "Time and memory of one training step (forward + backward) of a config, with the trainer's backward pass and tfjs's",
  builder: (y) =>
    timingOptions(y, { runs: 3, each: 'steps per pass', json: 'the result', out: 'step-<config>.md and .json (command, machine, numbers)' })
      .option('config', { alias: 'c', type: 'string', demandOption: true, describe: 'the config whose data and model to use, e.g. configs/uea/SelfRegulationSCP1/flowformer.yaml' })
      .option('set', { type: 'string', array: true, describe: 'override a config value, as for train (e.g. --set attention.type=softmax)' })
      .option('batch-size', { type: 'number', describe: "examples per step (default: the config's training.batchSize)" })
      .option('backward', { type: 'string', array: true, choices: [...BACKWARD_PASSES], default: [...BACKWARD_PASSES], describe: "which backward passes, in this order: ours (the trainer's, frees as it goes) and tfjs (tf.variableGrads)" })
      .option('update', { type: 'boolean', default: false, describe: "time the whole training step: also clip (training.gradClip) and apply the config's optimiser, as train does (the original code's step includes both)" })
      .option('profile', {
        type: 'boolean',
        default: false,
        describe: "profile one more step of the trainer's pass: kernels launched forward and backward, time by kernel, and the bytes the forward keeps for the backward pass by module and by kernel",
      })
      .option('peer', {
        type: 'string',
        describe:
          "a JSON file with a peer's measurement of the same step (the original code, run outside this repository: command, mode fwdbwd|update, batch, median_s, median_cpu_s, max_resident_bytes): kept in the record, and compared line by line on docs/results/performance.md",
      })
      .example('$0 bench step -c configs/uea/SelfRegulationSCP1/flowformer.yaml --batch-size 4', 'will the paper recipe fit? time and peak memory of a step, both backward passes')
      .example('$0 bench step -c configs/uea/SelfRegulationSCP1/flowformer.yaml --backward ours --update', 'a whole training step (forward, backward, clipping, RAdam), as the original code times it')
      .example('$0 bench step -c configs/uea/SelfRegulationSCP1/flowformer.yaml --backward ours --runs 1 --profile', 'where the memory goes: saved bytes by module (blocks.0.mlp, ...) and by kernel, kernel counts and times')
      .example('$0 bench step -c configs/uea/SelfRegulationSCP1/transformer.yaml --backward ours', "the softmax Transformer's step with the trainer's backward pass only") as never,
  handler: async (args) => {
    const info = await startBackend(args.backend);
    const resolved = loadConfig(args.config, { sets: args.set });
    const task = getTask(resolved.config.task);
    const roots = runRoots(args);
    // Checked before the minutes of the benchmark: the peer must have timed the same step.
    const peer = args.peer ? readStepPeer(args.peer, { batchSize: args['batch-size'] ?? resolved.config.training.batchSize, update: args.update ?? false }) : null;
    const r = await benchTrainStep({
      config: resolved,
      task,
      dataRoot: roots.dataRoot,
      defaultDataRoot: roots.defaultDataRoot,
      cacheDir: roots.cacheDir,
      batchSize: args['batch-size'],
      backward: args.backward as BackwardPass[],
      runs: args.runs,
      warmup: args.warmup,
      update: args.update,
      profile: args.profile,
      log: (m) => console.error(m),
    });
    const table = formatStepBenchTable(r) + (r.profile ? '\n\n' + formatStepProfile(r.profile) : '');
    const machine = machineFacts();
    // FLOWFORMER_XLA changes what the step computes with: it is part of the command
    const cmd = [...(process.env.FLOWFORMER_XLA != null ? [`FLOWFORMER_XLA=${process.env.FLOWFORMER_XLA}`] : []), 'flowformer', ...process.argv.slice(2)].join(' ');
    const record = { command: cmd, backend: info, machine, ...r, ...(peer ? { peer, comparisons: stepComparisons(r, peer, `${resolved.name} step`) } : {}) };
    if (args.json) console.log(JSON.stringify(record, null, 2));
    else console.log('\n' + table);
    if (args.out) {
      fs.mkdirSync(args.out, { recursive: true });
      const base = path.join(args.out, `step-${resolved.name}`);
      const head = `# One training step: ${resolved.name} (${r.task}/${r.dataset}, ${r.params.toLocaleString('en-US')} parameters)\n\nCommand: \`${cmd}\`\n\n${machineLine(machine)}; backend ${info.backend}${info.xla != null ? ` (XLA kernels ${info.xla.split(':')[0]})` : ''}. Resident before the first step: ${(r.rssBeforeBytes / 2 ** 30).toFixed(2)} GiB.\n\n`;
      const vs = peer
        ? `\n\nThe peer, run just before or after in the same session: \`${peer.command}\` (${peer.name ?? 'original'}${peer.torch ? `, torch ${peer.torch}` : ''}${peer.threads ? `, ${peer.threads} threads` : ''}): ${peer.median_s.toFixed(2)} s per step${peer.median_cpu_s !== undefined ? ` (${peer.median_cpu_s.toFixed(2)} s of CPU)` : ''}, ${(peer.max_resident_bytes / 2 ** 30).toFixed(2)} GiB maximum resident.\n\n` +
          markdownTable(['', 'ours', 'peer', 'ours / peer', 'goal'], record.comparisons!.map((c) => [c.work, `${c.ours.toFixed(2)} ${c.unit}`, `${c.peerValue.toFixed(2)} ${c.unit}`, `${(c.ours / c.peerValue).toFixed(2)}x`, c.goal === undefined ? '-' : `<= ${c.goal}x`]))
        : '';
      fs.writeFileSync(`${base}.md`, head + table + vs + '\n');
      fs.writeFileSync(`${base}.json`, JSON.stringify(record, null, 2) + '\n');
      console.error(`wrote ${base}.{md,json}`);
    }
  },
};

interface BenchSummaryArgs {
  page: string;
  records: string;
  check?: boolean;
}

/**
 * `flowformer bench summary`: the performance page's comparison table (ours against the original
 * code and other peers), regenerated from the `comparisons` of every record under results/bench/.
 */
const summaryBench: CommandModule<object, BenchSummaryArgs> = {
  command: 'summary',
  describe: 'Rewrite the comparison table of docs/results/performance.md from the benchmark records (results/bench/**/*.json)',
  builder: (y) =>
    y
      .option('page', { type: 'string', default: 'docs/results/performance.md', describe: 'the markdown page whose <!-- bench-summary:begin --> ... end block to rewrite' })
      .option('records', { type: 'string', default: 'results/bench', describe: 'the folder of benchmark records to collect from' })
      .option('check', { type: 'boolean', describe: 'change nothing; exit 1 when the page is out of date' })
      .example('$0 bench summary', 'after a benchmark with --peer wrote its record: regenerate the performance table') as never,
  handler: (args) => {
    const root = process.cwd();
    if (args.check) {
      const current = benchSummaryBlock(fs.readFileSync(args.page, 'utf8'));
      const stale = current !== benchSummaryFor(args.page, args.records, root);
      console.error(stale ? `${args.page} is out of date: run flowformer bench summary` : `${args.page} is up to date`);
      if (stale) process.exitCode = 1;
      return;
    }
    const changed = writeBenchSummary(args.page, args.records, root);
    console.error(changed ? `rewrote the comparison table of ${args.page}` : `${args.page} was already up to date`);
  },
};

/** core's markdownTable, with numbers in en-US form (12,345) and right-aligned the columns whose every cell is a number. */
function numbersTable(columns: string[], rows: (string | number)[][]): string {
  const numeric = columns.map((_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === 'number' || /^[\d.,]+$/.test(String(r[j]))));
  const fmt = (v: string | number) => (typeof v === 'number' ? v.toLocaleString('en-US') : v);
  return markdownTable(columns, rows.map((r) => r.map(fmt)), numeric.map((n) => (n ? 'r' : 'l'))).trimEnd();
}

/** Facts about the machine that any benchmark's numbers depend on, whatever the compute backend. */
function machineFacts() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cores: cpus.length,
    cpu: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    /** 1-minute load average when the benchmark ended: other jobs on the machine slow it down. */
    loadAverage: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

/** The machine a benchmark ran on, as one line of its markdown report. */
function machineLine(machine: ReturnType<typeof machineFacts>): string {
  return `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, ${machine.platform}, node ${machine.node}; ${machine.date}; load average ${machine.loadAverage} when it ended`;
}

function reportMarkdown(task: string, what: string, cmd: string, r: TaskBenchResult, machine: ReturnType<typeof machineFacts>): string {
  const setup = numbersTable(['setting', 'value'], Object.entries(r.setup).map(([k, v]) => [k, String(v)]));
  return [
    `# ${what} benchmark: ${task}`,
    '',
    r.title,
    '',
    `Command: \`${cmd}\``,
    '',
    machineLine(machine),
    '',
    setup,
    '',
    numbersTable(r.columns, r.rows),
    '',
    ...(r.notes ?? []).map((n) => `- ${n}`),
    '',
  ].join('\n');
}

interface TaskBenchCliArgs {
  task: string;
  out?: string;
  json?: boolean;
  backend?: string;
  'data-root'?: string;
  [taskFlag: string]: unknown;
}

/** Flags of the command itself (and the global ones): a task cannot redefine them. */
const OWN_FLAGS = ['task', 'out', 'json', 'backend', 'data-root', 'help', 'version'] as const;

/**
 * `flowformer bench <what> --task T`: a benchmark a task declares in `Task.bench[<what>]`
 * (imagenet: `data`). One subcommand per `<what>` any installed task offers; the flags and
 * examples come from the tasks.
 */
function taskBenchCommand(what: string, tasks: Task[]): CommandModule<object, TaskBenchCliArgs> {
  const benchOf = (t: Task) => t.bench![what]!;
  return {
    command: what,
    describe: `${tasks.map((t) => `[${t.name}] ${benchOf(t).describe}`).join('; ')}`,
    builder: (y) => {
      let b: Argv<any> = y
        .option('task', { type: 'string', demandOption: true, choices: tasks.map((t) => t.name), describe: `the task whose ${what} benchmark to run` })
        .option('out', { type: 'string', describe: `also write ${what}-<task>.md and ${what}-<task>.json (command, machine, settings, numbers) into this folder` })
        .option('json', { type: 'boolean', describe: 'print the whole record as JSON on stdout instead of the table' });
      b = declareTaskOptions(b, tasks.map((t) => ({ task: t.name, options: benchOf(t).options })), OWN_FLAGS);
      for (const t of tasks) for (const [cmd, desc] of benchOf(t).examples ?? []) b = b.example(cmd, desc);
      return b as never;
    },
    handler: async (args) => {
      const task = tasks.find((t) => t.name === args.task)!;
      const options = taskOptionValues(task.name, benchOf(task).options, args);
      // The tensors a benchmark builds need a backend, even when it times no compute.
      await initBackend(args.backend as never);
      const result = await benchOf(task).run({ dataRoot: cliDataRoot(args['data-root']), options, log: (m) => console.error(m) });
      const machine = machineFacts();
      const cmd = ['flowformer', ...process.argv.slice(2)].join(' ');
      const record = { command: cmd, task: task.name, benchmark: what, title: result.title, machine, backend: backendInfo().backend, setup: result.setup, columns: result.columns, rows: result.rows, notes: result.notes ?? [], raw: result.raw ?? null, ...(result.comparisons ? { comparisons: result.comparisons } : {}) };
      if (args.json) console.log(JSON.stringify(record, null, 2));
      else {
        console.log(`${result.title}\n`);
        console.log(numbersTable(['setting', 'value'], Object.entries(result.setup).map(([k, v]) => [k, String(v)])) + '\n');
        console.log(numbersTable(result.columns, result.rows));
        for (const n of result.notes ?? []) console.log(`- ${n}`);
      }
      if (args.out) {
        fs.mkdirSync(args.out, { recursive: true });
        const base = path.join(args.out, `${what}-${task.name}`);
        fs.writeFileSync(`${base}.md`, reportMarkdown(task.name, what, cmd, result, machine));
        fs.writeFileSync(`${base}.json`, JSON.stringify(record, null, 2) + '\n');
        console.error(`wrote ${base}.{md,json}`);
      }
    },
  };
}

export function benchCommand(discovered: DiscoveredTask[]): CommandModule {
  // `attention` and `step` are the core's benchmarks; a task's bench of either name would be unreachable.
  const kinds = new Map<string, Task[]>();
  for (const { task } of discovered) {
    for (const what of Object.keys(task.bench ?? {})) {
      if (what === 'attention' || what === 'step' || what === 'summary') {
        console.error(`warning: task '${task.name}' declares bench '${what}', which is the core's benchmark; ignored`);
        continue;
      }
      kinds.set(what, [...(kinds.get(what) ?? []), task]);
    }
  }
  const names = ['attention', 'step', 'summary', ...kinds.keys()];
  return {
    command: 'bench <what>',
    describe: `Benchmarks: attention cost against sequence length; one training step of a config${[...kinds].map(([k, ts]) => `; ${k} (${ts.map((t) => t.name).join(', ')})`).join('')}`,
    builder: (y) => {
      let b = y
        .command(attentionBench)
        .command(stepBench)
        .command(summaryBench)
        .example('$0 bench attention --out results/bench', 'time and memory of softmax vs Flow-Attention against L')
        .example('$0 bench step -c configs/uea/SelfRegulationSCP1/flowformer.yaml --batch-size 4', 'time and peak memory of one training step of a config');
      for (const [what, ts] of kinds) {
        b = b.command(taskBenchCommand(what, ts));
        // Each task's first example, so that `bench --help` shows how to run every kind.
        for (const t of ts) {
          const ex = t.bench![what]!.examples?.[0];
          if (ex) b = b.example(ex[0], ex[1]);
        }
      }
      return b.demandCommand(1, `Say what to benchmark: ${names.map((n) => `\`${n}\``).join(', ')}.`);
    },
    handler: () => {},
  };
}
