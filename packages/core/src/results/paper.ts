/**
 * The paper's numbers, read from the one data file `results/paper/flowformer-paper.json`
 * (transcribed from the tables in thuml/Flowformer's README and per-task figures; each table
 * names its `source`). Only ever printed BESIDE our results, never as one of them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A paper cell: a number, mean +- std over the paper's seeds, or a word such as 'OOM'. */
export type PaperCell = number | { mean: number; std: number } | string;

export interface PaperTable {
  title: string;
  metric: string;
  unit: string;
  mode: string;
  source: string;
  rows: string[];
  methods: string[];
  /** values[row][method] */
  values: Record<string, Record<string, PaperCell>>;
  notes?: string;
}

export interface PaperData {
  paper: string;
  tables: Record<string, PaperTable>;
}

/** `<repo>/results/paper/flowformer-paper.json`, found from this file's location. */
export const PAPER_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../results/paper/flowformer-paper.json');

let cached: PaperData | null = null;

export function loadPaper(file = PAPER_FILE): PaperData {
  if (file === PAPER_FILE && cached) return cached;
  if (!fs.existsSync(file)) throw new Error(`${file}: the paper's numbers are missing (restore results/paper/flowformer-paper.json from git)`);
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as PaperData;
  if (!data.tables) throw new Error(`${file}: no 'tables' field; expected {paper, tables: {<table>: {rows, methods, values}}}`);
  if (file === PAPER_FILE) cached = data;
  return data;
}

/**
 * One table of the paper file. A table that is not there is an error naming the tables that
 * are (a task asking for its own table should fail loudly, not print empty comparisons).
 */
export function paperTable(table: string, data = loadPaper()): PaperTable {
  const t = data.tables[table];
  if (!t) throw new Error(`results/paper/flowformer-paper.json: no table '${table}' (tables: ${Object.keys(data.tables).join(', ')})`);
  return t;
}

/** The rows of a table in the paper's order, without its printed 'average' row (the per-dataset rows). */
export function paperRows(table: string, data = loadPaper()): string[] {
  return paperTable(table, data).rows.filter((r) => r !== 'average');
}

/** A cell as one number: the value, or the mean of mean ± std; null for a word ('OOM') or no cell. */
export function paperNumber(c: PaperCell | null): number | null {
  if (c === null || typeof c === 'string') return null;
  return typeof c === 'number' ? c : c.mean;
}

/** The paper's value of (table, row, method), or null where the paper has none. */
export function paperValue(table: string, row: string, method: string, data = loadPaper()): PaperCell | null {
  return data.tables[table]?.values[row]?.[method] ?? null;
}

export function formatPaperCell(c: PaperCell | null, digits = 2): string {
  if (c === null) return '-';
  if (typeof c === 'string') return c;
  if (typeof c === 'number') return c.toFixed(digits);
  return `${c.mean.toFixed(digits)} ± ${c.std.toFixed(digits)}`;
}

/**
 * "Flowformer 98.9, Transformer 98.7": the paper's values of some methods in one row of a
 * table, for task and dataset descriptions. It never throws: without the paper file (or the
 * row) it points at the file instead, so that listing tasks still works.
 */
export function paperSummary(table: string, row: string, methods: string[], digits = 1): string {
  try {
    return methods.map((m) => `${m} ${formatPaperCell(paperValue(table, row, m), digits)}`).join(', ');
  } catch {
    return 'see results/paper/flowformer-paper.json';
  }
}
