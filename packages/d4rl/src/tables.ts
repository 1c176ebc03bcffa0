/**
 * The D4RL table (the paper's offline RL table, normalised score): nine datasets x Flowformer
 * and the Decision Transformer; at mini scale a generated `halfcheetah-mixed` row with no paper
 * counterpart. A cell is what the original reports: the evaluation after the last iteration
 * (100 episodes, `summary.finalEval`), at the first return target, mean ± std over seeds; the
 * best evaluation over training is shown after it, labelled, never instead of it.
 */
import type { CellValue, RunSummary, Scale, TableColumn, TableRowSpec, TableSpec } from '@flowformer/core/results';

export const D4RL_ROWS = ['halfcheetah-medium-expert', 'hopper-medium-expert', 'walker2d-medium-expert', 'halfcheetah-medium', 'hopper-medium', 'walker2d-medium', 'halfcheetah-medium-replay', 'hopper-medium-replay', 'walker2d-medium-replay'];

const ORIGINAL = 'thuml/Flowformer Flowformer_RL/experiment.py and scripts/flowformer.sh (decision_transformer/models/flowformer_attention.py)';

/** What a run records of its final evaluation (see the d4rl trainer hook): per return target, in normalised score x 100. */
export interface D4rlFinalEval {
  step: number;
  episodes: number;
  targets: { target: number; returnMean: number; returnStd: number; normalizedMean: number; normalizedStd: number }[];
}

/** The cell value of a run: its final evaluation at the first return target; its best evaluation over training as a labelled second figure. */
export function d4rlCellValue(run: RunSummary): CellValue | null {
  const fe = (run as RunSummary & { finalEval?: D4rlFinalEval }).finalEval;
  const first = fe?.targets?.[0];
  if (!first || !Number.isFinite(first.normalizedMean)) return null;
  const best = run.best?.metrics?.score;
  return { value: first.normalizedMean, ...(typeof best === 'number' && Number.isFinite(best) ? { secondary: { label: 'best over training', value: best } } : {}) };
}

function columns(scale: Scale): TableColumn[] {
  const mini = (a: string) => `mini: configs/d4rl/halfcheetah-mixed/mini.yaml with attention.type=${a} (generated data, short budget)`;
  return [
    { key: 'flow', attention: 'flow', kind: 'paper', paperMethod: 'Flowformer', recipe: scale === 'mini' ? mini('flow') : 'configs/d4rl/<dataset>/flowformer.yaml', source: ORIGINAL },
    { key: 'softmax', attention: 'softmax', kind: 'paper', paperMethod: 'Decision Transformer', recipe: scale === 'mini' ? mini('softmax') : "configs/d4rl/<dataset>/softmax.yaml: the same model, recipe and budget with GPT-2's softmax attention", source: 'thuml/Flowformer Flowformer_RL/experiment.py with its GPT-2 softmax attention (decision_transformer/models/trajectory_gpt2.py)' },
    ...(['performer', 'reformer'] as const).map((a): TableColumn => ({
      key: a, attention: a, kind: 'paper', paperMethod: a === 'performer' ? 'Performer' : 'Reformer',
      recipe: scale === 'mini' ? mini(a) : `configs/d4rl/<dataset>/flowformer.yaml with attention.type=${a}`,
      source: `${ORIGINAL} with the attention swapped (our reconstruction)`,
    })),
  ];
}

function rows(scale: Scale): TableRowSpec[] {
  return scale === 'mini'
    ? [{ row: 'halfcheetah-mixed', task: 'd4rl', config: 'configs/d4rl/halfcheetah-mixed/mini.yaml', paperRow: null, note: 'no D4RL file here: a generated dataset (flowformer data generate --task d4rl --dataset halfcheetah-mixed --policy mixed --steps 20000); no paper counterpart' }]
    : D4RL_ROWS.map((d) => ({ row: d, task: 'd4rl', config: `configs/d4rl/${d}/flowformer.yaml`, configs: { flow: `configs/d4rl/${d}/flowformer.yaml`, softmax: `configs/d4rl/${d}/softmax.yaml` }, paperRow: d }));
}

export const d4rlTables: TableSpec[] = [
  {
    name: 'd4rl',
    task: 'd4rl',
    describe: "the paper's D4RL table (normalised score of the final 100-episode evaluation)",
    rows,
    columns,
    value: d4rlCellValue,
    whyNoValue: (run) => {
      const best = run.best?.metrics?.score;
      return `no final 100-episode evaluation in summary.finalEval${typeof best === 'number' ? ` (best over training ${best.toFixed(2)})` : ''}`;
    },
  },
];
