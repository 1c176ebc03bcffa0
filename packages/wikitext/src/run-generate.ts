/**
 * `flowformer generate --run RUN_DIR --prompt "..." --tokens N [--temperature T --top-k K]`:
 * rebuilds the run's model from its config.yaml and checkpoint, the vocabulary from its data
 * (the dictionary and the binarised corpus come from the cache, so this is quick), and
 * samples with the recurrent form of the attention.
 */
import path from 'node:path';
import { disposeCheckpoint, loadCheckpoint, loadConfig, Rng, type GenerateArgs } from '@flowformer/core';
import { RunRecord } from '@flowformer/core/results';
import type { CharVocab } from './data/char.ts';
import { Dictionary } from './data/dictionary.ts';
import { generate } from './generate.ts';
import { buildLm, lmSchemas, loadLmData, type LmConfig, type LmInfo } from './lm.ts';

/** `flowformer generate`'s arguments: the core's `GenerateArgs` (one definition for every generating task). */
export type GenerateFromRunArgs = GenerateArgs;

export async function generateFromRun(args: GenerateFromRunArgs): Promise<{ text: string; ids: Int32Array }> {
  const log = args.log ?? (() => {});
  const record = new RunRecord(path.resolve(args.runDir));
  const config = loadConfig(record.configPath, { task: { name: 'wikitext', schema: lmSchemas } }).config as LmConfig;
  const dataRoot = path.resolve(args.dataRoot ?? config.data.root ?? process.env.FLOWFORMER_DATA_ROOT ?? 'data');
  const data = loadLmData(config, { dataRoot, cacheDir: path.resolve(args.cacheDir ?? '.cache'), log });
  const info = data.info as unknown as LmInfo;
  const model = buildLm(config, info, new Rng(0));
  try {
    const ckpt = loadCheckpoint(record.ckpt(args.checkpoint ?? 'best'));
    try {
      model.loadState(ckpt.weights);
    } finally {
      disposeCheckpoint(ckpt);
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  const vocab = data.vocab;
  let prompt: number[];
  let decode: (id: number) => string;
  let forbidden: number[] = [];
  if (vocab instanceof Dictionary) {
    // A fairseq stream starts after a </s>, so the prompt does too.
    prompt = [vocab.eosIndex, ...vocab.encodeLine(args.prompt, false)];
    decode = (id) => (id === vocab.eosIndex ? '\n' : ` ${vocab.symbol(id)}`);
    forbidden = [vocab.bosIndex, vocab.padIndex];
    const unknown = args.prompt.split(/\s+/).filter((w) => w && !vocab.has(w));
    if (unknown.length) log(`words not in the dictionary (read as <unk>): ${unknown.join(' ')}`);
  } else {
    const chars = vocab as CharVocab;
    if (!args.prompt) throw new Error('generate: a character-level model needs a non-empty --prompt (e.g. "\\n")');
    prompt = Array.from(chars.encode(args.prompt));
    decode = (id) => chars.decode([id]);
  }
  let ids: Int32Array;
  try {
    ids = generate(model, prompt, {
      tokens: args.tokens,
      temperature: args.temperature,
      topK: args.topK,
      rng: new Rng(args.seed ?? 0),
      forbidden,
      onToken: (id) => args.onText?.(decode(id)),
    });
  } finally {
    model.dispose();
  }
  return { text: Array.from(ids, decode).join(''), ids };
}
