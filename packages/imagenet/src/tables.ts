/**
 * The ImageNet-1K table (the paper's image classification table, top-1): the four-stage
 * Flowformer and its softmax twin, and DeiT-S with and without Flow-Attention. At mini scale a
 * CIFAR-10 proxy row.
 */
import type { Scale, TableColumn, TableRowSpec, TableSpec } from '@flowformer/core/results';

const ORIGINAL = 'thuml/Flowformer Flowformer_CV/scripts/flowformer.sh (main.py, flowformer.py)';

function columns(scale: Scale): TableColumn[] {
  const mini = (a: string) => `proxy: configs/imagenet/cifar10/flowformer.yaml with attention.type=${a} (CIFAR-10, 5,000 images, small model; not the paper's setting)`;
  return [
    { key: 'flow', attention: 'flow', kind: 'paper', paperMethod: 'Flowformer', recipe: scale === 'mini' ? mini('flow') : 'configs/imagenet/imagenet-1k/flowformer.yaml (DeiT-S row: deit-s-flow.yaml)', source: `${ORIGINAL}; DeiT-S row: facebookresearch/deit deit_small_patch16_224 with Flow-Attention` },
    { key: 'softmax', attention: 'softmax', kind: 'paper', paperMethod: 'Transformer', recipe: scale === 'mini' ? mini('softmax') : 'configs/imagenet/imagenet-1k/flowformer-softmax.yaml, the same model and recipe with softmax attention (DeiT-S row: deit-s.yaml)', source: `${ORIGINAL} with softmax attention; DeiT-S row: facebookresearch/deit deit_small_patch16_224` },
    ...(['performer', 'reformer'] as const).map((a): TableColumn => ({
      key: a, attention: a, kind: 'paper', paperMethod: a === 'performer' ? 'Performer' : 'Reformer',
      recipe: scale === 'mini' ? mini(a) : `configs/imagenet/imagenet-1k/flowformer.yaml with attention.type=${a}`,
      source: `${ORIGINAL} with the attention swapped (our reconstruction)`,
    })),
  ];
}

function rows(scale: Scale): TableRowSpec[] {
  return scale === 'mini'
    ? [{ row: 'cifar10', task: 'imagenet', config: 'configs/imagenet/cifar10/flowformer.yaml', paperRow: 'imagenet-1k', note: 'proxy: CIFAR-10 5,000 images, small model; the paper column is ImageNet-1K, not comparable' }]
    : [
        { row: 'imagenet-1k', task: 'imagenet', config: 'configs/imagenet/imagenet-1k/flowformer.yaml', configs: { flow: 'configs/imagenet/imagenet-1k/flowformer.yaml', softmax: 'configs/imagenet/imagenet-1k/flowformer-softmax.yaml' }, paperRow: 'imagenet-1k' },
        { row: 'imagenet-1k-deit-s', task: 'imagenet', config: null, paperRow: 'imagenet-1k-deit-s',
          configs: { flow: 'configs/imagenet/imagenet-1k/deit-s-flow.yaml', softmax: 'configs/imagenet/imagenet-1k/deit-s.yaml' },
          methods: { flow: 'DeiT-S + Flowformer', softmax: 'DeiT-S' } },
      ];
}

export const imagenetTables: TableSpec[] = [
  { name: 'imagenet', task: 'imagenet', describe: "the paper's ImageNet-1K table (top-1 accuracy)", rows, columns },
];
