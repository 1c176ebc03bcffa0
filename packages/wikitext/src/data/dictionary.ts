/**
 * fairseq's `Dictionary` (fairseq/data/dictionary.py), reimplemented so that a `dict.txt`
 * written by `fairseq-preprocess` loads here with the same indices, and ours load there.
 *
 * - Indices 0..3 are the special symbols `<s>`, `<pad>`, `</s>`, `<unk>`; they are not written
 *   to `dict.txt`. A corpus token spelled like a special (WikiText's `<unk>`) maps to it.
 * - Building from a corpus counts every token of every line plus one `</s>` per line, then
 *   `finalize` sorts the non-special symbols by count, descending, ties broken by the symbol
 *   in Python's string order (fairseq feeds `Counter.most_common`, a stable sort, a dict that
 *   was sorted by symbol), keeps those with count >= threshold (and at most `nwords` in all),
 *   then pads the size to a multiple of `paddingFactor` (8) with `madeupword0000`, ... of count 0.
 * - `dict.txt`: one `symbol count` line per non-special symbol, in index order. A line may
 *   end in ` #fairseq:overwrite` to replace an earlier duplicate.
 */
import fs from 'node:fs';
import path from 'node:path';
import { comparePython, forEachLine, tokenizeLine } from './text.ts';

export interface FinalizeArgs {
  /** Minimum count to keep a symbol (fairseq `--thresholdsrc`); default -1 (keep all). */
  threshold?: number;
  /** Maximum dictionary size including specials (fairseq `--nwordssrc`); default -1 (no limit). */
  nwords?: number;
  /** Pad the size to a multiple of this (fairseq's default 8). */
  paddingFactor?: number;
}

export class Dictionary {
  static readonly BOS = '<s>';
  static readonly PAD = '<pad>';
  static readonly EOS = '</s>';
  static readonly UNK = '<unk>';

  readonly bosIndex = 0;
  readonly padIndex = 1;
  readonly eosIndex = 2;
  readonly unkIndex = 3;
  readonly nspecial = 4;

  symbols: string[] = [];
  counts: number[] = [];
  private indices = new Map<string, number>();

  constructor() {
    for (const s of [Dictionary.BOS, Dictionary.PAD, Dictionary.EOS, Dictionary.UNK]) this.addSymbol(s);
  }

  get size(): number {
    return this.symbols.length;
  }

  has(symbol: string): boolean {
    return this.indices.has(symbol);
  }

  /** The index of `symbol`, or `<unk>`'s. */
  index(symbol: string): number {
    return this.indices.get(symbol) ?? this.unkIndex;
  }

  /** The symbol at `index` (`<unk>` beyond the end, as fairseq). */
  symbol(index: number): string {
    return this.symbols[index] ?? Dictionary.UNK;
  }

  /** Adds `n` to the count of `word`, appending it if new; returns its index. */
  addSymbol(word: string, n = 1, overwrite = false): number {
    const idx = this.indices.get(word);
    if (idx !== undefined && !overwrite) {
      this.counts[idx]! += n;
      return idx;
    }
    const i = this.symbols.length;
    this.indices.set(word, i);
    this.symbols.push(word);
    this.counts.push(n);
    return i;
  }

  /** Sorts by count (descending, ties by symbol), applies threshold/nwords, pads the size. */
  finalize(args: FinalizeArgs = {}): void {
    const threshold = args.threshold ?? -1;
    const paddingFactor = args.paddingFactor ?? 8;
    let nwords = args.nwords ?? -1;
    if (nwords <= 0) nwords = this.size;
    const rest: [string, number][] = [];
    for (let i = this.nspecial; i < this.size; i++) rest.push([this.symbols[i]!, this.counts[i]!]);
    rest.sort((a, b) => b[1] - a[1] || comparePython(a[0], b[0]));
    const symbols = this.symbols.slice(0, this.nspecial);
    const counts = this.counts.slice(0, this.nspecial);
    for (const [s, c] of rest.slice(0, Math.max(0, nwords - this.nspecial))) {
      if (c < threshold) break;
      symbols.push(s);
      counts.push(c);
    }
    this.symbols = symbols;
    this.counts = counts;
    this.indices = new Map(symbols.map((s, i) => [s, i]));
    if (paddingFactor > 1) {
      for (let i = 0; this.size % paddingFactor !== 0; i++) this.addSymbol(`madeupword${String(i).padStart(4, '0')}`, 0);
    }
  }

  /** The `dict.txt` text: `symbol count` per non-special symbol, in index order. */
  toText(): string {
    let out = '';
    for (let i = this.nspecial; i < this.size; i++) out += `${this.symbols[i]} ${this.counts[i]}\n`;
    return out;
  }

  save(file: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, this.toText(), 'utf-8');
    fs.renameSync(tmp, file);
  }

  /** Parses `dict.txt` text (fairseq's `add_from_file`); `source` names the file in errors. */
  static fromText(text: string, source = 'dict.txt'): Dictionary {
    const d = new Dictionary();
    const lines = text.split(/\r\n|\r|\n/);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    lines.forEach((raw, i) => {
      const where = `${source}:${i + 1}`;
      let line = raw.trimEnd();
      let cut = line.lastIndexOf(' ');
      if (cut < 0) throw new Error(`${where}: expected '<token> <count> [#fairseq:overwrite]', got ${JSON.stringify(raw)}. Fix or regenerate the dictionary.`);
      let field = line.slice(cut + 1);
      let overwrite = false;
      if (field === '#fairseq:overwrite') {
        overwrite = true;
        line = line.slice(0, cut);
        cut = line.lastIndexOf(' ');
        if (cut < 0) throw new Error(`${where}: '#fairseq:overwrite' needs '<token> <count>' before it, got ${JSON.stringify(raw)}.`);
        field = line.slice(cut + 1);
      }
      if (!/^[+-]?\d+$/.test(field.trim())) throw new Error(`${where}: the count ${JSON.stringify(field)} is not an integer (line ${JSON.stringify(raw)}).`);
      const word = line.slice(0, cut);
      if (d.has(word) && !overwrite) {
        throw new Error(`${where}: duplicate word ${JSON.stringify(word)}. Remove the line or end it with ' #fairseq:overwrite' to replace the earlier entry.`);
      }
      d.addSymbol(word, parseInt(field, 10), overwrite);
    });
    return d;
  }

  static load(file: string): Dictionary {
    if (!fs.existsSync(file)) throw new Error(`dictionary file ${file} does not exist. Build one from the train split (it is cached) or point data.dict at a fairseq dict.txt.`);
    return Dictionary.fromText(fs.readFileSync(file, 'utf-8'), file);
  }

  /** Counts the tokens of a file (plus one `</s>` per line) into a new dictionary and finalizes it, as `fairseq-preprocess --only-source`. */
  static build(file: string, args: FinalizeArgs = {}): Dictionary {
    const counter = new Map<string, number>();
    let lines = 0;
    forEachLine(file, (line) => {
      lines++;
      for (const w of tokenizeLine(line)) counter.set(w, (counter.get(w) ?? 0) + 1);
    });
    const d = new Dictionary();
    // fairseq merges a Counter sorted by word; insertion order only matters for specials, which are fixed.
    for (const w of [...counter.keys()].sort(comparePython)) d.addSymbol(w, counter.get(w)!);
    d.addSymbol(Dictionary.EOS, lines);
    d.finalize(args);
    return d;
  }

  /** Token ids of one line (`encode_line` with add_if_not_exist=false), `</s>` appended. */
  encodeLine(line: string, appendEos = true): Int32Array {
    const words = tokenizeLine(line);
    const ids = new Int32Array(words.length + (appendEos ? 1 : 0));
    for (let i = 0; i < words.length; i++) ids[i] = this.index(words[i]!);
    if (appendEos) ids[words.length] = this.eosIndex;
    return ids;
  }

  /** Symbols of `ids` joined by spaces (`</s>` shown as a newline when `eosAsNewline`). */
  decode(ids: ArrayLike<number>, eosAsNewline = true): string {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      out.push(id === this.eosIndex && eosAsNewline ? '\n' : this.symbol(id));
    }
    return out.join(' ').replace(/ ?\n ?/g, '\n');
  }
}
