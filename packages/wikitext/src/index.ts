/** @flowformer/wikitext: WikiText language modelling as fairseq does it, character-level text, generation. */
export { tokenizeLine, forEachLine, comparePython } from './data/text.ts';
export { Dictionary, type FinalizeArgs } from './data/dictionary.ts';
export { encodeFile, encodeFileCached, buildDictionaryCached, fileStamp, type EncodedCorpus } from './data/corpus.ts';
export { TokenStream, BlockSplit, WindowSplit, makeBatch, type LmBatch } from './data/blocks.ts';
export { CharVocab, prepareChars, readCharCorpus, type CharCorpus } from './data/char.ts';
export { loadWordCorpus, type WordCorpus, type WordCorpusArgs } from './data/wikitext.ts';
export { evaluatePerplexity, scoreWindows, type LogitsFn, type PerplexityArgs, type PerplexityResult, type ScoreWindow } from './eval.ts';
export { TransformerLM, type TransformerLMArgs, type LmState } from './model.ts';
export { generate, sampleLogits, type GenerateArgs } from './generate.ts';
export { generateFromRun, type GenerateFromRunArgs } from './run-generate.ts';
export { downloadWikitext, downloadShakespeare, countTokens, WIKITEXT_BASE_URL, SHAKESPEARE_URL } from './download.ts';
export { LmModelSchema, LmDataSchema, type LmModelConfig, type LmDataConfig } from './schema.ts';
export { wikitextTask } from './task.ts';
export { LmEvalSplit, loadLmData, buildLm, dataDir, lmSchemas, type LmConfig, type LmInfo } from './lm.ts';
export { wikitextReport, collectWikitextRuns, wikitextReportMarkdown, type WikitextReport, type WikitextSetting } from './report.ts';
export * from './tables.ts';
