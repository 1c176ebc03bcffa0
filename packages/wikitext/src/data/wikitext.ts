/**
 * Word-level WikiText (`wiki.{train,valid,test}.tokens`): the dictionary from the train split
 * (or a given fairseq `dict.txt`), every split binarised through the cache.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildDictionaryCached, encodeFileCached, type EncodedCorpus } from './corpus.ts';
import { Dictionary } from './dictionary.ts';

export interface WordCorpusArgs {
  /** Folder holding the split files. */
  dir: string;
  /** File names inside `dir` (null: the split is absent). */
  train: string;
  valid?: string | null;
  test?: string | null;
  /** A fairseq `dict.txt` to use instead of building one from `train`. */
  dict?: string | null;
  /** Where binarised splits and built dictionaries are cached. */
  cacheDir: string;
  log?: (msg: string) => void;
}

export interface WordCorpus {
  dict: Dictionary;
  dictFile: string;
  train: EncodedCorpus;
  valid: EncodedCorpus | null;
  test: EncodedCorpus | null;
}

export function loadWordCorpus(args: WordCorpusArgs): WordCorpus {
  const log = args.log ?? (() => {});
  const file = (name: string) => path.resolve(args.dir, name);
  const trainFile = file(args.train);
  if (!fs.existsSync(trainFile)) {
    throw new Error(`train split ${trainFile} not found (config data.train = '${args.train}' in data.dir = '${args.dir}'). ` +
      `Run 'flowformer data download --task wikitext', or train on another split by setting data.train (e.g. wiki.valid.tokens for a small-data proxy).`);
  }
  let dict: Dictionary;
  let dictFile: string;
  if (args.dict) {
    dictFile = path.resolve(args.dir, args.dict);
    dict = Dictionary.load(dictFile);
    log(`dictionary: ${dict.size} types from ${dictFile}`);
  } else {
    const t0 = Date.now();
    const built = buildDictionaryCached(trainFile, args.cacheDir);
    dict = built.dict;
    dictFile = built.file;
    log(`dictionary: ${dict.size} types ${built.cached ? 'from cache' : `built from ${args.train} in ${((Date.now() - t0) / 1000).toFixed(1)}s`} (${dictFile})`);
  }
  const encode = (name: string | null | undefined): EncodedCorpus | null => {
    if (!name) return null;
    const t0 = Date.now();
    const enc = encodeFileCached(file(name), dict, args.cacheDir);
    const pct = enc.tokens.length ? ((100 * enc.replaced) / enc.tokens.length).toFixed(2) : '0';
    log(`${name}: ${enc.lines} lines, ${enc.tokens.length} tokens, ${pct}% replaced by <unk>${enc.cached ? ' (cached)' : ` (binarised in ${((Date.now() - t0) / 1000).toFixed(1)}s)`}`);
    return enc;
  };
  return { dict, dictFile, train: encode(args.train)!, valid: encode(args.valid), test: encode(args.test) };
}
