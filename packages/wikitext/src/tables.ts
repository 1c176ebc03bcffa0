/**
 * The WikiText-103 table (the paper's language-modelling table, test perplexity): one row at
 * paper scale; at mini scale a proxy row that trains on wiki.valid.tokens (no train file here).
 */
import type { Scale, TableColumn, TableRowSpec, TableSpec } from '@flowformer/core/results';

const ORIGINAL = "thuml/Flowformer Flowformer_NLP/README.md (fairseq-train --arch transformer_lm ...) and Flowformer_NLP/flow_attention.py";

function columns(scale: Scale): TableColumn[] {
  const mini = (a: string) => `proxy: configs/wikitext/wikitext-103-proxy/flowformer.yaml with attention.type=${a} (small model; not the paper's setting)`;
  return [
    { key: 'flow', attention: 'flow', kind: 'paper', paperMethod: 'Flowformer', recipe: scale === 'mini' ? mini('flow') : 'configs/wikitext/wikitext-103/flowformer.yaml: fairseq transformer_lm with causal Flow-Attention', source: ORIGINAL },
    { key: 'softmax', attention: 'softmax', kind: 'paper', paperMethod: 'Transformer', recipe: scale === 'mini' ? mini('softmax') : "configs/wikitext/wikitext-103/transformer.yaml: the same fairseq transformer_lm and recipe with fairseq's softmax attention", source: `${ORIGINAL} (the same command with fairseq's own attention)` },
    ...(['performer', 'reformer'] as const).map((a): TableColumn => ({
      key: a, attention: a, kind: 'paper', paperMethod: a === 'performer' ? 'Performer' : 'Reformer',
      recipe: scale === 'mini' ? mini(a) : `configs/wikitext/wikitext-103/flowformer.yaml with attention.type=${a}`,
      source: `${ORIGINAL} with the attention swapped (the original ships no ${a} script: our reconstruction)`,
    })),
  ];
}

function rows(scale: Scale): TableRowSpec[] {
  return scale === 'mini'
    ? [{ row: 'wikitext-103-proxy', task: 'wikitext', config: 'configs/wikitext/wikitext-103-proxy/flowformer.yaml', paperRow: 'wikitext-103', note: 'proxy: trains on wiki.valid.tokens (no train file here), small model; not comparable' }]
    : [{ row: 'wikitext-103', task: 'wikitext', config: 'configs/wikitext/wikitext-103/flowformer.yaml', configs: { flow: 'configs/wikitext/wikitext-103/flowformer.yaml', softmax: 'configs/wikitext/wikitext-103/transformer.yaml' }, paperRow: 'wikitext-103' }];
}

export const wikitextTables: TableSpec[] = [
  { name: 'wikitext', task: 'wikitext', describe: "the paper's WikiText-103 table (test perplexity)", rows, columns },
];
