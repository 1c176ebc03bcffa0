/**
 * Data: text reading and tokenisation as fairseq (Python) does it, fairseq dictionaries,
 * the binarised cache, fairseq's `--sample-break-mode none` blocks and nanoGPT's character
 * split, on generated tiny corpora and on the real files in ../shared/data.
 *
 * The reference numbers for the real files (line and token counts, dictionary sizes and the
 * sha256 of the `dict.txt` text) were computed with fairseq's own algorithm in Python
 * (`tokenize_line`, `Counter` counting with one `</s>` per line, `Dictionary.finalize` with
 * padding factor 8): see the report of the commit that added this test.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '@flowformer/core';
import { BlockSplit, TokenStream, WindowSplit } from '../src/data/blocks.ts';
import { prepareChars, readCharCorpus } from '../src/data/char.ts';
import { buildDictionaryCached, encodeFile, encodeFileCached } from '../src/data/corpus.ts';
import { Dictionary } from '../src/data/dictionary.ts';
import { comparePython, forEachLine, tokenizeLine } from '../src/data/text.ts';
import { loadWordCorpus } from '../src/data/wikitext.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const shared = path.resolve(repoRoot, '../shared/data');
const wt103 = path.join(shared, 'wikitext-103');
const wt2 = path.join(shared, 'wikitext-2');
const shakespeare = path.join(shared, 'tiny-shakespeare/input.txt');
const have = (p: string) => fs.existsSync(p);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wikitext-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string | Uint8Array): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

function lines(file: string, chunk?: number): string[] {
  const out: string[] = [];
  forEachLine(file, (l) => out.push(l), chunk);
  return out;
}

describe('text', () => {
  it('tokenizes on Python whitespace, not JavaScript whitespace', () => {
    expect(tokenizeLine(' = Robert <unk> = \n')).toEqual(['=', 'Robert', '<unk>', '=']);
    expect(tokenizeLine('')).toEqual([]);
    expect(tokenizeLine(' \t \n')).toEqual([]);
    // U+001C and U+0085 are whitespace in Python only; U+FEFF in JavaScript only.
    expect(tokenizeLine('a\x1cb\x85c\ufeffd\u00a0e')).toEqual(['a', 'b', 'c\ufeffd', 'e']);
  });

  it('splits lines like Python universal newlines, across chunk boundaries and multi-byte characters', () => {
    const text = '\ufeffone\r\ntwo\rthree\n\nfour é€😀\r\n\r\nlast';
    const f = write('lines.txt', text);
    const expected = ['\ufeffone', 'two', 'three', '', 'four é€😀', '', 'last'];
    for (const chunk of [1, 2, 3, 5, 7, 64]) expect(lines(f, chunk)).toEqual(expected);
    expect(lines(write('nl.txt', 'a\nb\n'))).toEqual(['a', 'b']);
    expect(lines(write('empty.txt', ''))).toEqual([]);
    expect(() => lines(write('bad.txt', new Uint8Array([0x61, 0xff, 0x0a])))).toThrow(/not valid UTF-8/);
  });

  it("orders strings as Python's str comparison (code points)", () => {
    // U+FF01 (BMP, above the surrogates) < U+1F600 (astral) in Python, but not in UTF-16 order.
    expect(comparePython('\uff01', '😀')).toBeLessThan(0);
    expect('\uff01' < '😀').toBe(false);
    expect(comparePython('ab', 'abc')).toBeLessThan(0);
    expect(comparePython('b', 'a')).toBeGreaterThan(0);
  });
});

describe('Dictionary (fairseq dict.txt)', () => {
  const corpus = write('tiny.tokens', ' b a c <unk> \n\n a b \n c a\n');
  // counts: a 3, b 2, c 2, <unk> 1 (special), </s> 4 lines (special)

  it('builds, sorts by count then symbol, pads to a multiple of 8 with madeupwords', () => {
    const d = Dictionary.build(corpus);
    expect(d.symbols).toEqual(['<s>', '<pad>', '</s>', '<unk>', 'a', 'b', 'c', 'madeupword0000']);
    expect(d.counts).toEqual([1, 1, 5, 2, 3, 2, 2, 0]);
    expect(d.toText()).toBe('a 3\nb 2\nc 2\nmadeupword0000 0\n');
    expect(Array.from(d.encodeLine(' c zz <unk> '))).toEqual([6, 3, 3, 2]);
    expect(Array.from(d.encodeLine(''))).toEqual([2]);
  });

  it('applies threshold and nwords as fairseq-preprocess', () => {
    expect(Dictionary.build(corpus, { threshold: 3, paddingFactor: 1 }).symbols.slice(4)).toEqual(['a']);
    expect(Dictionary.build(corpus, { nwords: 6, paddingFactor: 1 }).symbols.slice(4)).toEqual(['a', 'b']);
  });

  it('round-trips through dict.txt and reports bad files by line', () => {
    const d = Dictionary.build(corpus);
    const f = path.join(tmp, 'dict.txt');
    d.save(f);
    const e = Dictionary.load(f);
    expect(e.symbols).toEqual(d.symbols);
    expect(e.counts.slice(4)).toEqual(d.counts.slice(4));
    expect(() => Dictionary.fromText('a 1\nb 2\na 3\n', 'x/dict.txt')).toThrow(/x\/dict\.txt:3: duplicate word "a"/);
    expect(() => Dictionary.fromText('a 1\nb\n', 'x/dict.txt')).toThrow(/x\/dict\.txt:2/);
    expect(() => Dictionary.fromText('a x\n', 'x/dict.txt')).toThrow(/x\/dict\.txt:1: the count "x"/);
    // fairseq's overwrite appends a new entry and points the word at it (the old index stays taken).
    const o = Dictionary.fromText('a 1\na 7 #fairseq:overwrite\n');
    expect(o.counts.slice(4)).toEqual([1, 7]);
    expect(o.index('a')).toBe(5);
    expect(Dictionary.fromText('a b 4\n').symbols[4]).toBe('a b');
  });
});

describe('binarised corpus cache', () => {
  it('encodes with </s> per line, caches, and rebuilds when the source changes', () => {
    const src = write('c.tokens', ' x y \n\n y zz \n');
    const d = Dictionary.fromText('y 2\nx 1\n');
    const cache = path.join(tmp, 'cache');
    const a = encodeFileCached(src, d, cache);
    expect(a.cached).toBe(false);
    expect(Array.from(a.tokens)).toEqual([5, 4, 2, 2, 4, 3, 2]);
    expect(a.lines).toBe(3);
    expect(a.replaced).toBe(1);
    const b = encodeFileCached(src, d, cache);
    expect(b.cached).toBe(true);
    expect(Array.from(b.tokens)).toEqual(Array.from(a.tokens));
    // Edit the source (new size and mtime): the old entry must not be used.
    fs.writeFileSync(src, ' x \n');
    fs.utimesSync(src, new Date(), new Date(Date.now() + 5000));
    const c = encodeFileCached(src, d, cache);
    expect(c.cached).toBe(false);
    expect(Array.from(c.tokens)).toEqual([5, 2]);
    // Another dictionary is another key too.
    expect(encodeFileCached(src, Dictionary.fromText('x 1\n'), cache).cached).toBe(false);
  });
});

describe('blocks (fairseq --sample-break-mode none) and windows (nanoGPT)', () => {
  it('cuts the </s>-prefixed stream into contiguous blocks across lines, last block shorter', () => {
    const tokens = Int32Array.from([10, 11, 2, 12, 2, 13, 14, 15, 2]); // 3 lines
    const split = new BlockSplit(new TokenStream(tokens, 2), 4, 1);
    expect(split.size).toBe(3); // ceil(9 / 4)
    // fairseq TokenBlockDataset(include_targets): block 0 source = [eos] + item[:-1]; later ones tokens[s-1:e-1].
    expect(split.example(0)).toEqual({ input: Int32Array.from([2, 10, 11, 2]), target: Int32Array.from([10, 11, 2, 12]) });
    expect(split.example(1)).toEqual({ input: Int32Array.from([12, 2, 13, 14]), target: Int32Array.from([2, 13, 14, 15]) });
    expect(split.example(2)).toEqual({ input: Int32Array.from([15]), target: Int32Array.from([2]) });
    const before = tf.memory().numTensors;
    const batch = split.batch(Int32Array.from([2, 0]));
    expect(batch.input.arraySync()).toEqual([[15, 1, 1, 1], [2, 10, 11, 2]]);
    expect(batch.target.arraySync()).toEqual([[2, 1, 1, 1], [10, 11, 2, 12]]);
    expect(batch.mask.arraySync()).toEqual([[1, 0, 0, 0], [1, 1, 1, 1]]);
    expect(batch.ntokens).toBe(5);
    batch.tensors.forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  it('character windows start anywhere; blocks over text have no prefix', () => {
    const text = Int32Array.from([0, 1, 2, 3, 4, 5]);
    const w = new WindowSplit(text, 3);
    expect(w.size).toBe(3);
    expect(w.example(2)).toEqual({ input: Int32Array.from([2, 3, 4]), target: Int32Array.from([3, 4, 5]) });
    const b = new BlockSplit(new TokenStream(text, null), 2, 0);
    expect(b.size).toBe(3); // 5 targets
    expect(b.example(0)).toEqual({ input: Int32Array.from([0, 1]), target: Int32Array.from([1, 2]) });
    expect(b.example(2)).toEqual({ input: Int32Array.from([4]), target: Int32Array.from([5]) });
  });

  it('prepares characters as nanoGPT (sorted code points, int(n * 0.9) split)', () => {
    const c = prepareChars('baca😀b', 0.9);
    expect(c.chars).toEqual(['a', 'b', 'c', '😀']);
    expect(Array.from(c.train)).toEqual([1, 0, 2, 0, 3]); // int(6 * 0.9) = 5
    expect(Array.from(c.valid)).toEqual([1]);
    expect(c.vocab.decode(c.train)).toBe('baca😀');
  });
});

describe('real files', () => {
  it.skipIf(!have(shakespeare))('tiny Shakespeare: 65 characters, 1,003,854 / 111,540 (nanoGPT prepare.py)', () => {
    const c = readCharCorpus(shakespeare);
    expect(c.chars.length).toBe(65);
    expect(c.chars.slice(0, 3)).toEqual(['\n', ' ', '!']);
    expect(c.train.length).toBe(1003854);
    expect(c.valid.length).toBe(111540);
  });

  it.skipIf(!have(path.join(wt103, 'wiki.valid.tokens')))('WikiText-103 valid/test: fairseq dictionary and token counts', () => {
    const cache = path.join(tmp, 'wt103');
    const { dict, cached } = buildDictionaryCached(path.join(wt103, 'wiki.valid.tokens'), cache);
    expect(cached).toBe(false);
    expect(dict.size).toBe(18896);
    expect(dict.symbols.slice(4, 12)).toEqual(['the', ',', '.', 'of', 'and', 'in', 'to', 'a']);
    expect(dict.counts.slice(4, 12)).toEqual([12639, 10079, 7770, 5916, 5334, 4261, 4131, 3439]);
    expect(crypto.createHash('sha256').update(dict.toText()).digest('hex')).toBe('09819eb8d5d166e14321500234586e7552312afa0c9d48a6bfa86bd8cdf005cb');
    expect(buildDictionaryCached(path.join(wt103, 'wiki.valid.tokens'), cache).cached).toBe(true);

    const test = encodeFile(path.join(wt103, 'wiki.test.tokens'), Dictionary.build(path.join(wt103, 'wiki.test.tokens')));
    expect(test.lines).toBe(4358);
    expect(test.tokens.length).toBe(245569); // the published WikiText-103 test size, </s> included
    expect(test.replaced).toBe(0);

    const corpus = loadWordCorpus({ dir: wt103, train: 'wiki.valid.tokens', valid: null, test: 'wiki.test.tokens', cacheDir: cache });
    expect(corpus.train.tokens.length).toBe(217646);
    expect(corpus.test!.tokens.length).toBe(245569);
    expect(corpus.test!.replaced).toBeGreaterThan(0); // test words never seen in valid
    expect(corpus.dict.decode(corpus.test!.tokens.subarray(0, 6))).toBe('\n= Robert <unk> =\n');
  });

  it.skipIf(!have(path.join(wt2, 'wiki.test.tokens')))('WikiText-2 test: fairseq dictionary', () => {
    const d = Dictionary.build(path.join(wt2, 'wiki.test.tokens'));
    expect(d.size).toBe(14152);
    expect(crypto.createHash('sha256').update(d.toText()).digest('hex')).toBe('ead9ac25efceb10546966f9d93653f6fd69653579bafd87219672603320f5baf');
  });
});
