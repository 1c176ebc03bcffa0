/**
 * Character-level corpora (tiny Shakespeare), prepared as nanoGPT's
 * `data/shakespeare_char/prepare.py` does: the vocabulary is the sorted set of the distinct
 * characters of the whole text (Python code points, sorted by code point), the first 90% of
 * the characters (`int(n * 0.9)`) are the train split and the rest the validation split.
 */
import fs from 'node:fs';

export interface CharCorpus {
  /** The vocabulary: `chars[id]` is a character (a whole code point). */
  chars: string[];
  train: Int32Array;
  valid: Int32Array;
}

export class CharVocab {
  private readonly ids: Map<string, number>;
  constructor(readonly chars: string[]) {
    this.ids = new Map(chars.map((c, i) => [c, i]));
  }
  get size(): number {
    return this.chars.length;
  }
  encode(text: string): Int32Array {
    const out: number[] = [];
    for (const ch of text) {
      const id = this.ids.get(ch);
      if (id === undefined) throw new Error(`character ${JSON.stringify(ch)} (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) is not in the vocabulary`);
      out.push(id);
    }
    return Int32Array.from(out);
  }
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) s += this.chars[ids[i]!] ?? '';
    return s;
  }
}

/** Splits `text` into characters, builds the vocabulary and the 90/10 split. */
export function prepareChars(text: string, trainFraction = 0.9): CharCorpus & { vocab: CharVocab } {
  const points = Array.from(text); // code points, as Python's str
  const chars = [...new Set(points)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const vocab = new CharVocab(chars);
  const ids = new Int32Array(points.length);
  const index = new Map(chars.map((c, i) => [c, i]));
  for (let i = 0; i < points.length; i++) ids[i] = index.get(points[i]!)!;
  const n = Math.floor(points.length * trainFraction);
  return { chars, vocab, train: ids.slice(0, n), valid: ids.slice(n) };
}

export function readCharCorpus(file: string, trainFraction = 0.9): CharCorpus & { vocab: CharVocab } {
  if (!fs.existsSync(file)) throw new Error(`text file ${file} does not exist. Set data.dir/data.train to a plain UTF-8 text file (e.g. tiny-shakespeare/input.txt).`);
  // Python's text mode (nanoGPT reads with open(path, 'r')) turns \r\n and lone \r into \n.
  return prepareChars(fs.readFileSync(file, 'utf-8').replace(/\r\n?/g, '\n'), trainFraction);
}
