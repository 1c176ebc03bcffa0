import fs from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { getTask, initBackend, loadConfig, formatConfig, Rng, saveCheckpoint, stateFromTensors, tf, type ImportSummary } from '@flowformer/core';
import { readSafetensors, sha256File } from '@flowformer/core/io';
import type { DiscoveredTask } from '../discover.ts';
import { runRoots } from './train.ts';

interface ImportArgs {
  config: string;
  from: string;
  set?: string[];
  out?: string;
  backend?: string;
  'data-root'?: string;
  'results-root'?: string;
}

export interface ImportResult {
  runDir: string;
  summary: ImportSummary;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/**
 * Turns a state dict saved by the original PyTorch code into a run folder of ours: the config
 * (resolved), `ckpt/last` and `ckpt/best` with the imported weights, and `imported.json`
 * saying where they came from. The task's data is loaded to size the model exactly as
 * `train` would (UEA's length and classes, D4RL's dimensions, the number of image classes).
 */
export async function importOriginal(opts: {
  config: string;
  from: string;
  sets?: string[];
  out?: string;
  dataRoot?: string;
  defaultDataRoot?: string;
  resultsRoot: string;
  cacheDir: string;
  log?: (m: string) => void;
}): Promise<ImportResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const resolved = loadConfig(opts.config, { sets: opts.sets });
  const config = resolved.config;
  const task = getTask(config.task);
  if (!task.original) throw new Error(`task '${task.name}' has no original hooks: it cannot import the original code's weights`);
  if (!fs.existsSync(opts.from)) throw new Error(`--from ${opts.from}: no such file`);
  const weights = readSafetensors(opts.from);
  // The seed's forks as the trainer takes them, so the run folder's config rebuilds this model.
  const root = new Rng(config.seed);
  const initRng = root.fork();
  root.fork(); // data order
  root.fork(); // dropout
  const taskRng = root.fork();
  const dataRoot = path.resolve(opts.dataRoot ?? config.data.root ?? process.env.FLOWFORMER_DATA_ROOT ?? opts.defaultDataRoot ?? 'data');
  const data = await task.load(config, { dataRoot, cacheDir: opts.cacheDir, rng: taskRng, log });
  const model = task.build(config, data, initRng);
  try {
    const summary = task.original.importWeights(model, stateFromTensors(weights.tensors));
    const runDir = path.resolve(opts.out ?? path.join(opts.resultsRoot, 'imported', task.name, resolved.name, `${stamp(new Date())}-s${config.seed}`));
    if (fs.existsSync(runDir) && fs.readdirSync(runDir).length > 0) throw new Error(`--out ${runDir} exists and is not empty`);
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(path.join(runDir, 'config.yaml'), formatConfig(resolved));
    const tensors: Record<string, tf.Tensor> = Object.fromEntries(model.namedParams().map((p) => [p.name, p.variable as tf.Tensor]));
    const meta = { importedFrom: path.resolve(opts.from), sha256: await sha256File(opts.from), unused: summary.unused };
    for (const which of ['last', 'best'] as const) saveCheckpoint(path.join(runDir, 'ckpt', which), { step: 0, weights: tensors, optimizer: { step: 0, tensors: {} }, meta });
    fs.writeFileSync(path.join(runDir, 'imported.json'), JSON.stringify({ ...meta, config: resolved.path, task: task.name, filled: summary.filled, used: summary.used, at: new Date().toISOString() }, null, 2) + '\n');
    return { runDir, summary };
  } finally {
    model.dispose();
  }
}

export function importCommand(tasks: DiscoveredTask[]): CommandModule<object, ImportArgs> {
  const can = tasks.filter((t) => t.task.original).map((t) => `${t.task.name} (${t.task.original!.classes.join(', ')})`);
  return {
    command: 'import',
    describe: `Turn weights trained with the original PyTorch code into a run folder (tasks: ${can.join('; ') || 'none installed'})`,
    builder: (y) =>
      y
        .option('config', { type: 'string', demandOption: true, describe: 'our config of the same model (configs/<task>/<dataset>/<model>.yaml); its data sizes the model' })
        .option('from', {
          type: 'string',
          demandOption: true,
          describe: 'the original model\'s state dict, saved in Python with `safetensors.torch.save_file(model.state_dict(), "weights.safetensors")`',
        })
        .option('set', { type: 'string', array: true, describe: 'override config fields, e.g. --set model.dModel=64 (repeatable)' })
        .option('out', { type: 'string', describe: 'the run folder to write (default results/imported/<task>/<config>/<stamp>-s<seed>)' })
        .option('results-root', { type: 'string', describe: 'where results/ is (default <repo>/results or $FLOWFORMER_RESULTS_ROOT)' })
        .example('$0 import --config configs/uea/JapaneseVowels/flowformer.yaml --from weights.safetensors', 'a run folder whose ckpt/best holds the original weights')
        .example('$0 eval --run results/imported/uea/JapaneseVowels-flowformer/<id>', 'then evaluate it (visualize and generate work the same way)')
        .epilogue(
          'Every original parameter must be used exactly once and every parameter of ours filled, with agreeing shapes; otherwise the error names the parameter. ' +
            'Buffers and heads our model does not have are listed as unused with the reason. Check a model first with `flowformer check original`.',
        ) as never,
    handler: async (args) => {
      await initBackend(args.backend as never);
      const roots = runRoots(args);
      const r = await importOriginal({
        config: args.config,
        from: args.from,
        sets: args.set,
        out: args.out,
        dataRoot: roots.dataRoot,
        defaultDataRoot: roots.defaultDataRoot,
        resultsRoot: roots.resultsRoot,
        cacheDir: roots.cacheDir,
      });
      console.log(`${r.runDir}: ${r.summary.filled} parameters filled from ${r.summary.used} original parameters`);
      for (const [n, why] of Object.entries(r.summary.unused)) console.log(`  unused ${n}: ${why}`);
      console.log(`evaluate it: flowformer eval --run ${path.relative(process.cwd(), r.runDir) || r.runDir}`);
    },
  };
}
