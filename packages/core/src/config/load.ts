/**
 * Loading a config: YAML files chained by `extends:`, deep-merged, then `--set` overrides,
 * then one zod validation against the shared schema plus the task's sections.
 *
 * We keep, for every key path, where its value was written (file and line, or the `--set`
 * override), so that each problem zod finds points at the line to edit, in the file that
 * actually holds the value (a base config named by `extends`, say).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parse as parseYaml, parseDocument, stringify, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError, displayPath, type ConfigProblem } from '../errors.ts';
import { configSchema, type Config, type ConfigTask } from './schema.ts';
import { findTask, taskNames } from './tasks.ts';

type Origin = { file: string; line: number } | { set: string };
type Plain = Record<string, unknown>;

export interface LoadConfigOptions {
  /** `path.to.key=value` overrides, applied after the files (values are YAML scalars/flows). */
  sets?: string[];
  /** The task whose schema validates `model`, `data` and its sections; default: the registered task named by `task:`. */
  task?: ConfigTask;
}

export interface ResolvedConfig<C extends Config = Config> {
  /** The validated config, defaults filled in. */
  config: C;
  /** Absolute path of the config file that was loaded. */
  path: string;
  /** Run-record name: `<dataset>-<model>` from `configs/<task>/<dataset>/<model>.yaml`, or `name:` if set. */
  name: string;
  /** Every file read, the loaded one first, then what it extends, in order. */
  files: string[];
  sets: string[];
}

const isPlainObject = (x: unknown): x is Plain => typeof x === 'object' && x !== null && !Array.isArray(x);
const key = (p: (string | number)[]) => p.join('.');

/** Records the line of every key in a YAML document. */
function collectOrigins(node: Node | null | undefined, prefix: (string | number)[], file: string, lc: LineCounter, out: Map<string, Origin>) {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const p = [...prefix, k];
      const offset = (pair.key as Node | null)?.range?.[0] ?? 0;
      out.set(key(p), { file, line: lc.linePos(offset).line });
      collectOrigins(pair.value as Node, p, file, lc, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const offset = (item as Node | null)?.range?.[0];
      if (offset !== undefined) out.set(key([...prefix, i]), { file, line: lc.linePos(offset).line });
      collectOrigins(item as Node, [...prefix, i], file, lc, out);
    });
  }
}

function dropOriginsUnder(origins: Map<string, Origin>, p: string) {
  for (const k of [...origins.keys()]) if (k === p || k.startsWith(p + '.')) origins.delete(k);
}

/**
 * Deep merge: mappings merge key by key; lists, scalars and null replace. A mapping whose
 * `type` changes (optimizer: adamw -> radam) replaces the base one instead of merging, so the
 * old type's options do not leak into the new one.
 */
function merge(base: unknown, over: unknown, prefix: string, replaced: string[]): unknown {
  const typeChanged = isPlainObject(base) && isPlainObject(over) && 'type' in over && 'type' in base && over.type !== base.type;
  if (!isPlainObject(base) || !isPlainObject(over) || typeChanged) {
    replaced.push(prefix);
    return over;
  }
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const p = prefix ? `${prefix}.${k}` : k;
    out[k] = k in base ? merge(base[k], v, p, replaced) : v;
  }
  return out;
}

interface Loaded {
  value: Plain;
  origins: Map<string, Origin>;
  files: string[];
}

/** Reads `file` and everything it extends; problems are collected, not thrown. */
function loadChain(file: string, chain: string[], via: Origin | null, problems: ConfigProblem[]): Loaded | null {
  if (chain.includes(file)) {
    const cycle = [...chain.slice(chain.indexOf(file)), file].map(displayPath).join(' -> ');
    problems.push({ where: via, path: 'extends', message: `expected a config that does not extend itself, got a cycle: ${cycle}` });
    return null;
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    problems.push({
      where: via,
      path: via ? 'extends' : '',
      message: `expected a readable YAML file, got ${displayPath(file)}: ${why}`,
    });
    return null;
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const line = lc.linePos(err.pos[0]).line;
      problems.push({ where: { file, line }, path: '', message: `YAML syntax error: ${err.message.split('\n')[0]}` });
    }
    return null;
  }
  const raw = doc.toJS() ?? {};
  if (!isPlainObject(raw)) {
    problems.push({ where: { file, line: 1 }, path: '', message: `expected a mapping of config sections, got ${describe(raw)}` });
    return null;
  }
  const origins = new Map<string, Origin>();
  collectOrigins(doc.contents, [], file, lc, origins);

  const { extends: ext, ...own } = raw;
  if (ext === undefined) return { value: own, origins, files: [file] };
  const extOrigin = origins.get('extends')!;
  origins.delete('extends');
  if (typeof ext !== 'string' || ext.length === 0) {
    problems.push({ where: extOrigin, path: 'extends', message: `expected a relative path to a YAML config, got ${describe(ext)}` });
    return null;
  }
  const basePath = path.resolve(path.dirname(file), ext);
  const base = loadChain(basePath, [...chain, file], extOrigin, problems);
  if (!base) return null;
  const replaced: string[] = [];
  const value = merge(base.value, own, '', replaced) as Plain;
  const merged = new Map(base.origins);
  for (const r of replaced) dropOriginsUnder(merged, r);
  for (const [k, o] of origins) merged.set(k, o);
  return { value, origins: merged, files: [file, ...base.files] };
}

/** Applies one `a.b.c=value` override. */
function applySet(value: Plain, origins: Map<string, Origin>, set: string, problems: ConfigProblem[]) {
  const eq = set.indexOf('=');
  const p = eq > 0 ? set.slice(0, eq).trim() : '';
  const parts = p.split('.');
  if (eq <= 0 || parts.some((s) => s.length === 0)) {
    problems.push({ where: { set }, path: '', message: "expected 'path.to.key=value' (e.g. --set optimizer.lr=3e-4)" });
    return;
  }
  let v: unknown;
  try {
    v = parseYaml(set.slice(eq + 1));
  } catch {
    v = set.slice(eq + 1);
  }
  let obj = value;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i]!;
    if (obj[k] === undefined) obj[k] = {};
    if (!isPlainObject(obj[k])) {
      problems.push({ where: { set }, path: parts.slice(0, i + 1).join('.'), message: `expected a mapping to set '${p}' in, got ${describe(obj[k])}` });
      return;
    }
    obj = obj[k] as Plain;
  }
  const last = parts[parts.length - 1]!;
  // As in `extends`, a new `type` starts that section afresh.
  if (last === 'type' && obj.type !== undefined && obj.type !== v) for (const k of Object.keys(obj)) delete obj[k];
  const prefix = last === 'type' && parts.length > 1 ? parts.slice(0, -1).join('.') : p;
  dropOriginsUnder(origins, prefix);
  obj[last] = v;
  origins.set(p, { set });
}

/** Value at a key path, or undefined. */
function valueAt(root: unknown, p: (string | number)[]): unknown {
  let v = root;
  for (const k of p) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Plain)[k as string];
  }
  return v;
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing (the key is missing)';
  if (v === null) return 'null';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${v}`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return 'a mapping';
}

/** Nearest recorded origin at or above a key path. */
function originOf(origins: Map<string, Origin>, p: (string | number)[]): Origin | null {
  for (let n = p.length; n > 0; n--) {
    const o = origins.get(key(p.slice(0, n)));
    if (o) return o;
  }
  return null;
}

/** Best effort: the keys a strict object at `p` allows (for "unknown key" messages). */
function allowedKeys(schema: z.ZodType, p: (string | number)[], root: unknown): string[] | null {
  let s: any = schema;
  const unwrap = () => {
    for (let guard = 0; guard < 10; guard++) {
      const t = s?._zod?.def?.type;
      if (t === 'default' || t === 'optional' || t === 'nullable' || t === 'prefault') s = s._zod.def.innerType;
      else if (t === 'pipe') s = s._zod.def.in;
      else if (t === 'union' && s._zod.def.discriminator) {
        const d = s._zod.def.discriminator;
        const here = valueAt(root, p.slice(0, depth)) as Plain | undefined;
        s = s._zod.def.options.find((o: any) => o._zod.def.shape?.[d]?._zod?.def?.values?.includes(here?.[d]));
      } else return;
    }
  };
  let depth = 0;
  unwrap();
  for (const k of p) {
    if (s?._zod?.def?.type !== 'object') return null;
    s = s._zod.def.shape[k as string];
    depth++;
    unwrap();
  }
  return s?._zod?.def?.type === 'object' ? Object.keys(s._zod.def.shape) : null;
}

function issueToProblems(issue: z.core.$ZodIssue, root: unknown, origins: Map<string, Origin>, schema: z.ZodType, fallback: Origin): ConfigProblem[] {
  const p = issue.path as (string | number)[];
  const where = (q: (string | number)[]) => originOf(origins, q) ?? fallback;
  const got = describe(valueAt(root, p));
  const i = issue as any;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(schema, p, root);
      return i.keys.map((k: string) => ({
        where: where([...p, k]),
        path: key([...p, k]),
        message: `unknown key; expected one of: ${allowed ? allowed.join(', ') : '(see the schema)'}`,
      }));
    }
    case 'invalid_type':
      return [{ where: where(p), path: key(p), message: `expected ${i.expected === 'int' ? 'an integer' : i.expected}, got ${got}` }];
    case 'invalid_value':
      return [{ where: where(p), path: key(p), message: `expected ${i.values.map((v: unknown) => JSON.stringify(v)).join(' | ')}, got ${got}` }];
    case 'invalid_union':
      if (i.discriminator) {
        return [{ where: where(p), path: key(p), message: `expected ${i.options.map((v: unknown) => JSON.stringify(v)).join(' | ')}, got ${got}` }];
      }
      return [{ where: where(p), path: key(p), message: `${issue.message}, got ${got}` }];
    case 'too_small':
    case 'too_big': {
      const op = issue.code === 'too_small' ? (i.inclusive ? '>=' : '>') : i.inclusive ? '<=' : '<';
      const bound = issue.code === 'too_small' ? i.minimum : i.maximum;
      const what = i.origin === 'array' ? 'a list of length ' : i.origin === 'string' ? 'a string of length ' : 'a number ';
      return [{ where: where(p), path: key(p), message: `expected ${what}${op} ${bound}, got ${got}` }];
    }
    case 'custom':
      return [{ where: where(p), path: key(p), message: issue.message }];
    default:
      return [{ where: where(p), path: key(p), message: `${issue.message}, got ${got}` }];
  }
}

/** Run-record name of a config file. */
export function configName(file: string, task: string, explicit?: string): string {
  if (explicit) return explicit;
  const parts = path.resolve(file).split(path.sep);
  for (let i = parts.length - 2; i >= 0; i--) {
    if (parts[i] === 'configs' && parts[i + 1] === task && i + 2 < parts.length) {
      return parts.slice(i + 2).join('-').replace(/\.ya?ml$/, '');
    }
  }
  return path.basename(file).replace(/\.ya?ml$/, '');
}

/**
 * Loads, merges, overrides and validates a config. Throws one `ConfigError` listing every
 * problem (YAML syntax, bad `extends`, bad `--set`, wrong types, unknown and missing keys).
 */
export function loadConfig<C extends Config = Config>(configPath: string, opts: LoadConfigOptions = {}): ResolvedConfig<C> {
  const file = path.resolve(configPath);
  const problems: ConfigProblem[] = [];
  const loaded = loadChain(file, [], null, problems);
  if (!loaded) throw new ConfigError(problems, file);
  const { value, origins } = loaded;
  const sets = opts.sets ?? [];
  for (const s of sets) applySet(value, origins, s, problems);

  let task: ConfigTask | undefined = opts.task;
  if (!task) {
    const name = value.task;
    if (typeof name !== 'string') {
      problems.push({ where: originOf(origins, ['task']) ?? { file, line: 1 }, path: 'task', message: `expected the name of a task, got ${describe(name)}` });
    } else {
      task = findTask(name);
      if (!task) {
        const known = taskNames().join(', ') || '(none registered)';
        problems.push({ where: originOf(origins, ['task']) ?? { file, line: 1 }, path: 'task', message: `expected a known task (${known}), got string ${JSON.stringify(name)}` });
      }
    }
  } else if (value.task !== undefined && value.task !== task.name) {
    problems.push({ where: originOf(origins, ['task']) ?? { file, line: 1 }, path: 'task', message: `expected ${JSON.stringify(task.name)} (the task being run), got ${describe(value.task)}` });
  }

  const schema = configSchema(task);
  const result = schema.safeParse(value);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...issueToProblems(issue, value, origins, schema, { file, line: 1 }));
  }
  if (problems.length > 0) throw new ConfigError(problems, file);
  const config = result.data as C;
  return { config, path: file, name: configName(file, config.task, config.name), files: loaded.files, sets };
}

/**
 * The merged `extends:` chain of a config file, unvalidated and without defaults: for callers
 * that need a value or two (`reproduce` reads each config's `seed:`) without the task's schema.
 * Throws a `ConfigError` for unreadable files, YAML errors and bad `extends`.
 */
export function readConfigChain(configPath: string): Record<string, unknown> {
  const file = path.resolve(configPath);
  const problems: ConfigProblem[] = [];
  const loaded = loadChain(file, [], null, problems);
  if (!loaded) throw new ConfigError(problems, file);
  return loaded.value;
}

/** The resolved config as YAML, headed by where it came from (what `config show` prints and run records keep). */
export function formatConfig(resolved: ResolvedConfig | Config): string {
  const isResolved = 'config' in resolved && 'files' in resolved;
  const config = isResolved ? (resolved as ResolvedConfig).config : (resolved as Config);
  const head: string[] = [];
  if (isResolved) {
    const r = resolved as ResolvedConfig;
    head.push(`# resolved from ${r.files.map(displayPath).join(' <- ')}`);
    for (const s of r.sets) head.push(`# --set ${s}`);
  }
  return (head.length ? head.join('\n') + '\n' : '') + stringify(config, { lineWidth: 0 });
}

export interface ConfigFileInfo {
  task: string;
  dataset: string;
  /** File name without `.yaml` (usually the model: flowformer, transformer, mini...). */
  model: string;
  path: string;
}

/** The configs shipped under `<configsRoot>/<task>/<dataset>/<model>.yaml` (for `flowformer list`), sorted. */
export function listConfigFiles(configsRoot: string, task?: string): ConfigFileInfo[] {
  const out: ConfigFileInfo[] = [];
  const dirs = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : []);
  for (const t of task ? [task] : dirs(configsRoot)) {
    for (const dataset of dirs(path.join(configsRoot, t))) {
      const dir = path.join(configsRoot, t, dataset);
      for (const f of fs.readdirSync(dir)) {
        if (/\.ya?ml$/.test(f)) out.push({ task: t, dataset, model: f.replace(/\.ya?ml$/, ''), path: path.join(dir, f) });
      }
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
