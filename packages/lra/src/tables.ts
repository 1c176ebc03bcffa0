/**
 * The LRA table (the paper's Table 1): rows are the five LRA tasks, columns are recipes.
 *
 * The paper's LRA numbers come from two codes, so its columns do too:
 * - Flowformer: thuml's Flowformer_LRA fork (its flowformer_base.py over the fork's base config)
 *   with the LRA code's Flow-Attention (relu features, competition over heads, no clamp,
 *   padding not masked): `configs/lra/<task>/flowformer-lra-code.yaml`;
 * - Transformer, Performer, Reformer: the LRA paper's own numbers, trained with
 *   google-research/long-range-arena's base config and `<model>_base.py` per task:
 *   `configs/lra/<task>/<model>-lra.yaml`.
 * Our other variants stay as labelled extra columns (`--attentions flow-paper-def,...`): the
 * paper's definition of Flow-Attention (`flowformer.yaml`), and the baselines in Flowformer's
 * settings (`flowformer.yaml --set attention.type=<a>`). At mini scale every column is the
 * task's `mini.yaml` with the attention swapped: a smoke test, never the paper's setting.
 */
import path from 'node:path';
import type { DataSource, RunSummary, Scale, TableColumn, TableRowSpec, TableSpec } from '@flowformer/core/results';
import type { LraDataConfig } from './schema.ts';
import { dataProvenance } from './data/provenance.ts';

export const LRA_ROWS = ['listops', 'text', 'retrieval', 'image', 'pathfinder'] as const;
type LraRow = (typeof LRA_ROWS)[number];

/** Where each row's configs lie in the two original codes (their folder and base config). */
const ORIGINAL: Record<LraRow, { dir: string; base: string; forkBase: string }> = {
  listops: { dir: 'listops/configs', base: 'base_listops_config.py', forkBase: 'base_listops_config.py' },
  text: { dir: 'text_classification/configs', base: 'base_tc_config.py', forkBase: 'base_tc_config.py' },
  retrieval: { dir: 'matching/configs', base: 'base_match_config.py', forkBase: 'base_match_config.py' },
  image: { dir: 'image/configs/cifar10', base: 'base_cifar10_config.py', forkBase: 'base_cifar10_config.py' },
  pathfinder: { dir: 'image/configs/pathfinder32', base: 'base_pathfinder32_config.py', forkBase: 'base_pathfinder32_config.py' },
};

/** The LRA baselines with a recipe of LRA's own: column key, config file stem, LRA model config. */
const LRA_BASELINES = [
  { key: 'softmax', file: 'transformer', model: 'transformer_base.py', method: 'Transformer' },
  { key: 'performer', file: 'performer', model: 'performer_base.py', method: 'Performer' },
  { key: 'reformer', file: 'reformer', model: 'reformer_base.py', method: 'Reformer' },
] as const;

const rowsAll = (f: string) => LRA_ROWS.map((t) => `lra_benchmarks/${ORIGINAL[t].dir}/${f === 'base' ? ORIGINAL[t].base : f}`).join(', ');

function columns(scale: Scale): TableColumn[] {
  if (scale === 'mini')
    return ['flow', 'softmax', 'performer', 'reformer'].map((a) => ({
      key: a, attention: a, kind: 'paper', paperMethod: LRA_BASELINES.find((b) => b.key === a)?.method ?? 'Flowformer',
      recipe: `mini: configs/lra/<task>/mini.yaml with attention.type=${a} (short sequences, small model; not the paper's setting)`,
      source: 'ours (a CPU-sized smoke test of the paper recipes)',
    }));
  return [
    {
      key: 'flow', attention: 'flow', kind: 'paper', paperMethod: 'Flowformer',
      recipe: "Flowformer_LRA flowformer_base with the LRA code's Flow-Attention (relu(x) + 1e-6 features, competition over heads, no clamp, padding not masked): configs/lra/<task>/flowformer-lra-code.yaml",
      source: `thuml/Flowformer Flowformer_LRA/lra_benchmarks/<task>/configs/flowformer_base.py over the fork's base config (${rowsAll('base')}); Flowformer_LRA/lra_benchmarks/models/flowformer/flow_attention.py`,
    },
    ...LRA_BASELINES.map((b): TableColumn => ({
      key: b.key, attention: b.key, kind: 'paper', paperMethod: b.method,
      recipe: `LRA's own ${b.file} settings: configs/lra/<task>/${b.file}-lra.yaml`,
      source: `google-research/long-range-arena lra_benchmarks/<task>/configs/base_<task>_config.py + ${b.model} (${rowsAll(b.model)})`,
    })),
    {
      key: 'flow-paper-def', attention: 'flow', kind: 'extra', paperMethod: null, label: 'flow (paper definition)',
      recipe: "Flowformer_LRA flowformer_base with the paper's definition of Flow-Attention (sigmoid features, competition over keys): configs/lra/<task>/flowformer.yaml",
      source: 'thuml/Flowformer Flowformer_LRA/lra_benchmarks/<task>/configs/flowformer_base.py; Flow_Attention.py (the paper\'s definition)',
    },
    ...LRA_BASELINES.map((b): TableColumn => ({
      key: `${b.key}-ff`, attention: b.key, kind: 'extra', paperMethod: null, label: `${b.key} (Flowformer's settings)`,
      recipe: `configs/lra/<task>/flowformer.yaml with attention.type=${b.key}: Flowformer's model size and schedule, not LRA's`,
      source: 'thuml/Flowformer Flowformer_LRA/lra_benchmarks/<task>/configs/flowformer_base.py with the attention swapped (not a recipe of either original)',
    })),
  ];
}

function rows(scale: Scale): TableRowSpec[] {
  if (scale === 'mini')
    return LRA_ROWS.map((t) => ({ row: t, task: 'lra', config: `configs/lra/${t}/mini.yaml`, paperRow: t, note: 'mini: short sequences and a small model (see the config header); not comparable with the paper' }));
  return LRA_ROWS.map((t) => ({
    row: t, task: 'lra', config: `configs/lra/${t}/flowformer.yaml`, paperRow: t,
    configs: {
      flow: `configs/lra/${t}/flowformer-lra-code.yaml`,
      'flow-paper-def': `configs/lra/${t}/flowformer.yaml`,
      ...Object.fromEntries(LRA_BASELINES.map((b) => [b.key, `configs/lra/${t}/${b.file}-lra.yaml`])),
    },
  }));
}

/** Which download brings a row's release. */
const RELEASE: Record<LraRow, string> = {
  listops: 'flowformer data download --task lra --dataset release',
  retrieval: 'flowformer data download --task lra --dataset release',
  pathfinder: 'flowformer data download --task lra --dataset release',
  text: 'flowformer data download --task lra --dataset text',
  image: 'flowformer data download --task lra --dataset image',
};

/**
 * The LRA tables. `defaultDir` is the task's own rule for a dataset's folder under the data root
 * (passed in so that this module does not import the task).
 */
export function lraTables(defaultDir: (dataset: LraRow, data: LraDataConfig) => string): TableSpec[] {
  return [
    {
      name: 'lra',
      task: 'lra',
      describe: "the paper's Table 1: five LRA tasks x Flowformer (LRA-code recipe) and LRA's Transformer, Performer, Reformer",
      rows,
      columns,
      dataSource(config, dataRoot): DataSource {
        const dataset = config.dataset as LraRow;
        const data = config.data as LraDataConfig;
        const folder = path.resolve(dataRoot, data.dir ?? defaultDir(dataset, data));
        const origin = dataProvenance(folder);
        return { folder, kind: origin.kind, ...(origin.provenance ? { provenance: origin.provenance } : {}), release: RELEASE[dataset] };
      },
      runOnGeneratedData(run: RunSummary): boolean {
        const info = (run.dataInfo ?? {}) as Record<string, unknown>;
        if (info.dataKind === 'generated' || info.provenance) return true;
        return typeof info.dir === 'string' && dataProvenance(info.dir).kind === 'generated';
      },
    },
  ];
}
