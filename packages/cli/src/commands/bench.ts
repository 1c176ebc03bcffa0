import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import {
  BENCH_VARIANTS,
  DEFAULT_BENCH_LENGTHS,
  DEFAULT_BENCH_VARIANTS,
  benchAttention,
  backendInfo,
  chartsSvg,
  formatAttentionBenchTable,
  initBackend,
  svgToPng,
  type AttentionBenchRow,
  type BenchVariant,
  type Series,
} from '@flowformer/core';

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
    y
      .option('lengths', { type: 'number', array: true, default: [...DEFAULT_BENCH_LENGTHS], describe: 'sequence lengths L' })
      .option('variants', { type: 'string', array: true, choices: [...BENCH_VARIANTS], default: [...DEFAULT_BENCH_VARIANTS], describe: 'what to measure' })
      .option('B', { type: 'number', default: 1, describe: 'batch size' })
      .option('H', { type: 'number', default: 8, describe: 'heads' })
      .option('D', { type: 'number', default: 64, describe: 'head size' })
      .option('runs', { type: 'number', default: 5, describe: 'timed runs per configuration (median reported)' })
      .option('warmup', { type: 'number', default: 1, describe: 'untimed runs first' })
      .option('chunk-size', { type: 'number', describe: 'chunk size of the chunked causal form (default 64)' })
      .option('memory-limit-gb', { type: 'number', describe: 'skip configurations whose estimated peak is above this' })
      .option('json', { type: 'boolean', describe: 'print the rows as JSON on stdout' })
      .option('out', { type: 'string', describe: 'also write attention.md, attention.json and attention.png into this folder' })
      .example('$0 bench attention', 'the default sweep: L = 256 ... 16384, B=1, H=8, D=64')
      .example('$0 bench attention --lengths 1024 4096 8192 --variants flow flow-causal-chunked --out results/bench', 'a custom sweep, with table and plot') as never,
  handler: async (args) => {
    await initBackend(args.backend as never);
    const info = backendInfo();
    console.error(`backend ${info.backend}${info.threads ? `, ${info.threads} threads` : ''}`);
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

export const benchCommand: CommandModule = {
  command: 'bench <what>',
  describe: 'Benchmarks: attention cost against sequence length',
  builder: (y) => y.command(attentionBench).demandCommand(1, 'Say what to benchmark: `attention`.'),
  handler: () => {},
};
