/**
 * The `wikitext` task (issue 7): word-level language modelling on WikiText-103/-2 as fairseq
 * does it (dictionary, `--sample-break-mode none` blocks, perplexity with a context window),
 * and character-level modelling of plain text (tiny Shakespeare, as nanoGPT).
 */
import { EVAL, type EvalContext, type Rng, type Split, type Task, type TaskContext, type TaskData, type TaskModel } from '@flowformer/core';
import { paperSummary } from '@flowformer/core/results';
import type { LmBatch } from './data/blocks.ts';
import { downloadCommand } from './download.ts';
import { evaluatePerplexity } from './eval.ts';
import { generateFromRun, type GenerateFromRunArgs } from './run-generate.ts';
import { wikitextReport } from './report.ts';
import type { TransformerLM } from './model.ts';
import { buildLm, LmEvalSplit, lmSchemas, loadLmData, type LmConfig, type LmInfo } from './lm.ts';
import { wikitextTables } from './tables.ts';

function lmInfo(data: TaskData<LmBatch>): LmInfo {
  const info = data.info as unknown as LmInfo;
  if (typeof info.vocabSize !== 'number') throw new Error("wikitext: build() needs the TaskData returned by the wikitext task's load() (info.vocabSize)");
  return info;
}

/**
 * The task, plus `generate` for `flowformer generate --run RUN_DIR --prompt ... --tokens N
 * [--temperature --top-k]` (the Task interface has no generation hook yet; a CLI can test
 * for this property).
 */
export const wikitextTask: Task<LmConfig, LmBatch> & { generate: (args: GenerateFromRunArgs) => Promise<{ text: string; ids: Int32Array }> } = {
  name: 'wikitext',
  // The paper's perplexities come from results/paper/flowformer-paper.json, never retyped here.
  description: `language modelling: WikiText-103 perplexity as fairseq computes it (paper: ${paperSummary('wikitext', 'wikitext-103', ['Flowformer', 'Transformer'])}); character-level text (tiny Shakespeare)`,
  datasets: [
    { name: 'wikitext-103', description: `WikiText-103 word level, fairseq transformer_lm (paper test perplexity: ${paperSummary('wikitext', 'wikitext-103', ['Flowformer', 'Transformer'])})` },
    { name: 'wikitext-103-proxy', description: 'small-data proxy: train on wiki.valid.tokens, test on wiki.test.tokens (not the paper setting)' },
    { name: 'shakespeare-char', description: "tiny Shakespeare, characters, nanoGPT's CPU recipe (nanoGPT: about 1.88 validation loss)" },
  ],
  schema: lmSchemas,
  metric: { name: 'ppl', mode: 'min' },
  defaultConfig: 'configs/wikitext/shakespeare-char/flowformer.yaml',
  data: {
    download: downloadCommand,
    options: {
      url: { describe: 'base URL holding wikitext-103-v1.zip, wikitext-2-v1.zip and input.txt (a mirror)', type: 'string' },
      force: { describe: 'download again even if the files are present', type: 'boolean', default: false },
    },
  },

  generate: (args) => generateFromRun(args),
  report: wikitextReport,
  tables: wikitextTables,

  async load(config: LmConfig, ctx: TaskContext): Promise<TaskData<LmBatch>> {
    const { vocab: _vocab, ...data } = loadLmData(config, ctx);
    return data;
  },

  build(config: LmConfig, data: TaskData<LmBatch>, rng: Rng): TaskModel<LmBatch> {
    return buildLm(config, lmInfo(data), rng);
  },

  /** Perplexity (and mean NLL in nats as `loss`, in bits as `bits`) over every target of the split. */
  async evaluate(model: TaskModel<LmBatch>, split: Split<LmBatch>, ctx: EvalContext<LmConfig>) {
    if (!(split instanceof LmEvalSplit)) throw new Error(`wikitext: evaluate() needs a validation or test split from load(), got ${split.constructor.name}`);
    const lm = model as TransformerLM;
    const t0 = performance.now();
    let nextReport = 0.1;
    const r = evaluatePerplexity((x, from) => lm.logits(x, EVAL, from), split.stream, {
      tokensPerSample: split.tokensPerSample,
      contextWindow: split.contextWindow,
      batchSize: ctx.batchSize,
      padId: split.padId,
      // A WikiText-103 test pass is 2,193 model calls of 512 tokens: say how far it got.
      onProgress: (done, total) => {
        if (total < 100_000 || done / total < nextReport) return;
        nextReport += 0.1;
        ctx.log(`  ${ctx.splitName}: ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} tokens scored (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    return { ppl: r.ppl, loss: r.nll, bits: r.bits, tokens: r.tokens, tokensPerSecond: r.tokens / seconds };
  },
};

export default wikitextTask;
