/**
 * `flowformer data download --task wikitext [--dataset wikitext-103|wikitext-2|shakespeare-char]`.
 *
 * WikiText comes as the tokenised v1 zips of Merity et al. (`wikitext-103-v1.zip`,
 * `wikitext-2-v1.zip`; fairseq's `prepare-wikitext-103.sh` fetches the first from the old
 * Amazon S3 bucket, which is gone; the author now serves them from wikitext.smerity.com).
 * Each holds `wikitext-<n>/wiki.{train,valid,test}.tokens`; we move those three files to
 * `<dataRoot>/wikitext-<n>/` and count their lines and tokens before returning, so a bad
 * archive fails here. Tiny Shakespeare is karpathy/char-rnn's `input.txt`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type DataCommand } from '@flowformer/core';
import { download, extract } from '@flowformer/core/io';
import { forEachLine, tokenizeLine } from './data/text.ts';

export const WIKITEXT_BASE_URL = 'https://wikitext.smerity.com';
export const SHAKESPEARE_URL = 'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt';

const SPLIT_FILES = ['wiki.train.tokens', 'wiki.valid.tokens', 'wiki.test.tokens'];

export interface DownloadWikitextArgs {
  /** Base URL holding `wikitext-103-v1.zip` / `wikitext-2-v1.zip` (tests: a local server). */
  baseUrl?: string;
  /** Download again even if the files are present. */
  force?: boolean;
  log?: (msg: string) => void;
}

/** Line and token counts of a token file (`</s>` per line included), as fairseq-preprocess reports them. */
export function countTokens(file: string): { lines: number; tokens: number } {
  let lines = 0;
  let tokens = 0;
  forEachLine(file, (l) => {
    lines++;
    tokens += tokenizeLine(l).length + 1;
  });
  return { lines, tokens };
}

/** Downloads and unpacks `wikitext-103` or `wikitext-2` into `<dataRoot>/<name>/`; returns that folder. */
export async function downloadWikitext(name: 'wikitext-103' | 'wikitext-2', dataRoot: string, args: DownloadWikitextArgs = {}): Promise<string> {
  const log = args.log ?? (() => {});
  const dir = path.join(dataRoot, name);
  if (!args.force && SPLIT_FILES.every((f) => fs.existsSync(path.join(dir, f)))) {
    log(`${name}: already present in ${dir}`);
    return dir;
  }
  const url = `${(args.baseUrl ?? WIKITEXT_BASE_URL).replace(/\/+$/, '')}/${name}-v1.zip`;
  const archive = path.join(dataRoot, '.downloads', `${name}-v1.zip`);
  log(`${name}: downloading ${url}`);
  await download(url, archive);
  const scratch = path.join(dataRoot, `.extract-${name}-${process.pid}`);
  fs.rmSync(scratch, { recursive: true, force: true });
  try {
    const written = await extract(archive, scratch);
    fs.mkdirSync(dir, { recursive: true });
    for (const f of SPLIT_FILES) {
      const found = written.find((w) => path.basename(w) === f);
      if (!found) throw new Error(`${archive}: no ${f} inside (it holds ${written.slice(0, 5).join(', ')}${written.length > 5 ? ', ...' : ''}); is this a WikiText v1 (tokenised) archive?`);
      fs.renameSync(path.join(scratch, found), path.join(dir, f));
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  for (const f of SPLIT_FILES) {
    const c = countTokens(path.join(dir, f));
    log(`${name}/${f}: ${c.lines} lines, ${c.tokens} tokens`);
  }
  return dir;
}

/** Downloads tiny Shakespeare to `<dataRoot>/tiny-shakespeare/input.txt`. */
export async function downloadShakespeare(dataRoot: string, args: { url?: string; log?: (m: string) => void } = {}): Promise<string> {
  const dest = path.join(dataRoot, 'tiny-shakespeare', 'input.txt');
  args.log?.(`tiny-shakespeare: downloading ${args.url ?? SHAKESPEARE_URL}`);
  await download(args.url ?? SHAKESPEARE_URL, dest);
  return dest;
}

export const downloadCommand: DataCommand = {
  describe: 'download WikiText-103 and WikiText-2 (tokenised v1 zips) and tiny Shakespeare into the data root',
  examples: [
    ['flowformer data download --task wikitext', 'all three datasets'],
    ['flowformer data download --task wikitext --dataset wikitext-2', 'WikiText-2 only'],
  ],
  async run({ dataRoot, dataset, options, log }) {
    const baseUrl = typeof options.url === 'string' ? options.url : undefined;
    const force = options.force === true;
    const want = dataset ?? 'all';
    const known = ['wikitext-103', 'wikitext-2', 'shakespeare-char', 'all'];
    if (!known.includes(want)) throw new Error(`unknown --dataset '${want}' for wikitext; choose one of ${known.join(', ')}`);
    if (want === 'wikitext-103' || want === 'all') await downloadWikitext('wikitext-103', dataRoot, { baseUrl, force, log });
    if (want === 'wikitext-2' || want === 'all') await downloadWikitext('wikitext-2', dataRoot, { baseUrl, force, log });
    if (want === 'shakespeare-char' || want === 'all') await downloadShakespeare(dataRoot, { url: baseUrl ? `${baseUrl.replace(/\/+$/, '')}/input.txt` : undefined, log });
  },
};
