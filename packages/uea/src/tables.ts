/**
 * The UEA table (the paper's time-series table): rows are the paper's ten datasets (mini: the
 * four with a `mini.yaml`), columns are recipes. The paper reports a mean over runs, so a
 * paper-scale cell runs three seeds (666, the configs' own, then 667 and 668).
 */
import type { Scale, TableColumn, TableRowSpec, TableSpec } from '@flowformer/core/results';
import { PAPER_DATASETS } from './datasets.ts';

/** The UEA datasets with a mini.yaml (the four in ../shared/data). */
export const UEA_MINI_DATASETS = ['Handwriting', 'JapaneseVowels', 'SelfRegulationSCP1', 'UWaveGestureLibrary'];
/** The seeds of a paper-scale cell: the configs' own 666, then the next two (the original's runs are a mean over runs). */
export const UEA_PAPER_SEEDS = [666, 667, 668];

const ORIGINAL = 'thuml/Flowformer Flowformer_TimeSeries/scripts/flowformer.sh (main.py, options.py, models/Flowformer.py)';

function columns(scale: Scale): TableColumn[] {
  const mini = scale === 'mini';
  const recipe = (what: string) => (mini ? `mini: configs/uea/<dataset>/mini.yaml with attention.type=${what} (d_model 128, 20 epochs; not the paper's setting)` : what);
  return [
    { key: 'flow', attention: 'flow', kind: 'paper', paperMethod: 'Flowformer', recipe: recipe(mini ? 'flow' : 'configs/uea/<dataset>/flowformer.yaml, the paper protocol'), source: ORIGINAL },
    {
      key: 'softmax', attention: 'softmax', kind: 'paper', paperMethod: 'Transformer',
      recipe: recipe(mini ? 'softmax' : 'configs/uea/<dataset>/transformer.yaml: the Flowformer recipe with softmax attention and attention dropout 0.1'),
      source: `${ORIGINAL} with thuml's FullAttention convention (attention_dropout = dropout); the original ships no Transformer script, so this is our reconstruction`,
    },
    ...(['performer', 'reformer'] as const).map((a): TableColumn => ({
      key: a, attention: a, kind: 'paper', paperMethod: a === 'performer' ? 'Performer' : 'Reformer',
      recipe: recipe(mini ? a : `configs/uea/<dataset>/flowformer.yaml with attention.type=${a}`),
      source: `${ORIGINAL} with the attention swapped; the original ships no ${a} script, so this is our reconstruction`,
    })),
  ];
}

function rows(scale: Scale): TableRowSpec[] {
  if (scale === 'mini')
    return UEA_MINI_DATASETS.map((d) => ({ row: d, task: 'uea', config: `configs/uea/${d}/mini.yaml`, paperRow: d, note: 'mini: d_model 128, 20 epochs (paper: 512, 100); paper protocol; not comparable with the paper' }));
  return PAPER_DATASETS.map(({ name: d }) => ({
    row: d, task: 'uea', config: `configs/uea/${d}/flowformer.yaml`, paperRow: d,
    configs: { flow: `configs/uea/${d}/flowformer.yaml`, softmax: `configs/uea/${d}/transformer.yaml` },
  }));
}

export const ueaTables: TableSpec[] = [
  {
    name: 'uea',
    task: 'uea',
    describe: "the paper's UEA table: ten datasets x Flowformer, Transformer, Performer, Reformer; three seeds per cell at paper scale",
    rows,
    columns,
    seeds: (scale) => (scale === 'paper' ? UEA_PAPER_SEEDS : undefined),
  },
];
