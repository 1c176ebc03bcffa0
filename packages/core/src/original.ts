/**
 * Equality with the original PyTorch models (thuml/Flowformer): what a task provides so that
 * generic tools can load the original's weights into our model, export ours under the
 * original's names, and compare a whole forward and backward pass with a reference case.
 *
 * A reference case is a safetensors file (fixtures/golden/models/README.md): `param.<name>`
 * (PyTorch names and layouts), `buffer.*`, `input.*`, `target.*`, `output.*`, `loss`,
 * `grad.<name>`, `grad.input.<name>`, `inter.*`, and `__metadata__.case`, a JSON string with
 * the constructor call (`cls`, `constructor_args`).
 *
 * A task maps names with a `ParamMapping` list: one entry per parameter of ours, naming the
 * original parameter (or a row slice of it, for a fused qkv) and its layout. `importWeights`
 * checks the mapping is complete both ways: every original parameter used exactly once (or
 * declared unused, with the reason), every parameter of ours filled, shapes agreeing.
 */
import { tf } from './tf.ts';
import { readSafetensors, safeToNumbers, writeSafetensors, type SafeTensor, type SafetensorsFile } from './io/safetensors.ts';
import type { Module } from './nn/module.ts';
import { backendInfo } from './backend/select.ts';
import { Rng } from './rng.ts';

/** `__metadata__.case` of a reference file (the fields the tools read; the rest is kept). */
export interface OriginalCaseMeta {
  /** Our task name: 'uea', 'imagenet', 'd4rl'. */
  model: string;
  /** The case name, e.g. 'learnable'. */
  case: string;
  /** The original class, e.g. 'FlowformerClassiregressor'. */
  cls: string;
  constructor_args: Record<string, unknown>;
  [field: string]: unknown;
}

/** A reference case read from its file. */
export interface OriginalCase {
  file: string;
  meta: OriginalCaseMeta;
  tensors: Map<string, SafeTensor>;
}

export function readOriginalCase(file: string): OriginalCase {
  const f: SafetensorsFile = readSafetensors(file);
  const raw = f.metadata.case;
  if (raw === undefined) throw new Error(`${file}: no __metadata__.case; not a reference case of the original (see fixtures/golden/models/README.md)`);
  let meta: OriginalCaseMeta;
  try {
    meta = JSON.parse(raw);
  } catch (e) {
    throw new Error(`${file}: __metadata__.case is not JSON (${(e as Error).message})`);
  }
  for (const k of ['model', 'cls', 'constructor_args'] as const) {
    if (meta[k] === undefined) throw new Error(`${file}: __metadata__.case has no field '${k}'`);
  }
  return { file, meta, tensors: f.tensors };
}

/** A tensor as data and shape: what runs return (float32 from our model, float64 from files). */
export interface Dense64 {
  shape: number[];
  data: Float32Array | Float64Array;
}

/** One tensor of a reference case as `Dense64` (float data), or an error naming it. */
export function caseTensor(c: OriginalCase, name: string): Dense64 {
  const t = c.tensors.get(name);
  if (!t) throw new Error(`${c.file}: no tensor '${name}'`);
  if (t.data instanceof Float32Array || t.data instanceof Float64Array) return { shape: t.shape, data: t.data };
  return { shape: t.shape, data: Float64Array.from(safeToNumbers(t, name)) };
}

/** A reference input as a tf tensor: float inputs float32, integer and boolean ones int32. */
export function caseInput(c: OriginalCase, name: string): tf.Tensor {
  const t = c.tensors.get(name);
  if (!t) throw new Error(`${c.file}: no tensor '${name}'`);
  if (t.dtype === 'F32' || t.dtype === 'F64') return tf.tensor(Float32Array.from(t.data as Float32Array), t.shape, 'float32');
  return tf.tensor(Int32Array.from(safeToNumbers(t, name)), t.shape, 'int32');
}

/**
 * How an original parameter's layout becomes ours (PyTorch is row-major throughout):
 * - 'same': identical shape and order (biases, LayerNorm, GPT-2 `Conv1D` `[in, out]` = our Dense kernel);
 * - 'linear': `nn.Linear` weight `[out, in]` -> our Dense kernel `[in, out]`;
 * - 'conv1d-k1': `nn.Conv1d` weight `[out, in, 1]` -> Dense kernel `[in, out]` (a per-step linear);
 * - 'conv2d': `nn.Conv2d` weight `[out, in, kh, kw]` -> our Conv2d kernel `[kh, kw, in, out]`;
 * - 'reshape': the same values under another shape (e.g. `[L, 1, d]` -> `[L, d]`).
 */
export type Layout = 'same' | 'linear' | 'conv1d-k1' | 'conv2d' | 'reshape';

export interface ParamMapping {
  /** Our parameter's dotted name (`blocks.0.attn.query.kernel`). */
  ours: string;
  /** The original's `named_parameters()` name (`encoder.attn_layers.0.attention.query_projection.weight`). */
  theirs: string;
  layout: Layout;
  /** Rows `[begin, end)` of the original's first axis (a fused `qkv` split into query, key, value). */
  rows?: [number, number];
}

/** What a task's importer reports. */
export interface ImportSummary {
  /** Parameters of ours filled. */
  filled: number;
  /** Original parameters used. */
  used: number;
  /** Original parameters deliberately not used, with the reason (e.g. a head outside our model). */
  unused: Record<string, string>;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Row-major axis permutation of `data` with `shape`: out axis i is input axis perm[i]. */
export function permute<T extends Float32Array | Float64Array>(data: T, shape: number[], perm: number[]): { data: T; shape: number[] } {
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = shape.map((_, i) => prod(shape.slice(i + 1)));
  const out = new (data.constructor as { new (n: number): T })(data.length);
  const n = data.length;
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let i = 0; i < rank; i++) src += idx[i]! * inStrides[perm[i]!]!;
    out[o] = data[src]!;
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i]! < outShape[i]!) break;
      idx[i] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** The original's tensor (or its row slice) in our layout, checked against our shape. */
function toOurs(m: ParamMapping, t: Dense64, ourShape: number[]): Dense64 {
  let shape = t.shape;
  let data = t.data;
  if (m.rows) {
    const [a, b] = m.rows;
    const row = prod(shape.slice(1));
    data = data.slice(a * row, b * row);
    shape = [b - a, ...shape.slice(1)];
  }
  let r: Dense64;
  const bad = (want: string) => new Error(`original parameter '${m.theirs}'${m.rows ? ` rows [${m.rows}]` : ''} has shape [${shape}], not ${want} for layout '${m.layout}' (ours: '${m.ours}' [${ourShape}])`);
  switch (m.layout) {
    case 'same':
    case 'reshape':
      r = { data, shape: m.layout === 'same' ? shape : ourShape };
      if (m.layout === 'reshape' && prod(shape) !== prod(ourShape)) throw bad(`${prod(ourShape)} values`);
      break;
    case 'linear':
      if (shape.length !== 2) throw bad('[out, in]');
      r = permute(data, shape, [1, 0]);
      break;
    case 'conv1d-k1':
      if (shape.length !== 3 || shape[2] !== 1) throw bad('[out, in, 1]');
      r = permute(data, [shape[0]!, shape[1]!], [1, 0]);
      break;
    case 'conv2d':
      if (shape.length !== 4) throw bad('[out, in, kh, kw]');
      r = permute(data, shape, [2, 3, 1, 0]);
      break;
  }
  if (r.shape.join(',') !== ourShape.join(',')) {
    throw new Error(`original parameter '${m.theirs}'${m.rows ? ` rows [${m.rows}]` : ''} [${shape}] becomes [${r.shape}] under layout '${m.layout}', but ours '${m.ours}' is [${ourShape}]`);
  }
  return r;
}

/** Our tensor in the original's layout (the inverse of `toOurs`, without the row slice). */
function toTheirs(m: ParamMapping, t: Dense64, theirShape: number[]): Dense64 {
  switch (m.layout) {
    case 'same':
      return t;
    case 'reshape':
      return { data: t.data, shape: theirShape };
    case 'linear':
      return permute(t.data, t.shape, [1, 0]);
    case 'conv1d-k1': {
      const p = permute(t.data, t.shape, [1, 0]);
      return { data: p.data, shape: [...p.shape, 1] };
    }
    case 'conv2d':
      // ours [kh, kw, in, out] -> [out, in, kh, kw]
      return permute(t.data, t.shape, [3, 2, 0, 1]);
  }
}

/**
 * Loads the original's parameters (`state`: name -> tensor, without the `param.` prefix) into
 * `model` through `mapping`. Throws, naming the parameter, when an original parameter is
 * missing, left over (and not in `unused`), used twice, or of the wrong shape, or when one of
 * ours is not filled.
 */
export function importMapped(model: Module, mapping: ParamMapping[], state: Map<string, Dense64>, unused: Record<string, string> = {}): ImportSummary {
  const ours = new Map(model.namedParams().map((p) => [p.name, p]));
  const rowsUsed = new Map<string, number[]>(); // theirs -> rows covered (count per row)
  const values = new Map<string, Dense64>();
  for (const m of mapping) {
    const p = ours.get(m.ours);
    if (!p) throw new Error(`mapping names our parameter '${m.ours}', which the model does not have`);
    if (values.has(m.ours)) throw new Error(`mapping fills our parameter '${m.ours}' twice`);
    const t = state.get(m.theirs);
    if (!t) throw new Error(`original parameter '${m.theirs}' (for our '${m.ours}') is missing from the weights`);
    values.set(m.ours, toOurs(m, t, p.variable.shape));
    const n = t.shape[0] ?? 1;
    const cover = rowsUsed.get(m.theirs) ?? new Array<number>(n).fill(0);
    const [a, b] = m.rows ?? [0, n];
    for (let i = a; i < b; i++) cover[i]!++;
    rowsUsed.set(m.theirs, cover);
  }
  for (const name of ours.keys()) if (!values.has(name)) throw new Error(`our parameter '${name}' has no original parameter in the mapping`);
  for (const [name, cover] of rowsUsed) {
    const i = cover.findIndex((c) => c !== 1);
    if (i >= 0) throw new Error(`original parameter '${name}': row ${i} is used ${cover[i]} times (every original parameter must be used exactly once)`);
    if (name in unused) throw new Error(`original parameter '${name}' is both mapped and declared unused`);
  }
  for (const name of state.keys()) {
    if (!rowsUsed.has(name) && !(name in unused)) throw new Error(`original parameter '${name}' is not used by the mapping (and not declared unused)`);
  }
  for (const [name, v] of values) {
    const p = ours.get(name)!;
    const t = tf.tensor(v.data instanceof Float32Array ? v.data : Float32Array.from(v.data), p.variable.shape, 'float32');
    p.variable.assign(t);
    t.dispose();
  }
  return { filled: values.size, used: rowsUsed.size, unused: Object.fromEntries(Object.keys(unused).filter((k) => state.has(k)).map((k) => [k, unused[k]!])) };
}

/**
 * Our tensors by our names (parameters, or their gradients) -> the original's names and
 * layouts. Row slices of one original parameter are concatenated back in row order.
 * `theirShapes` gives the original shape of each exported name when our layout cannot say it
 * (reshape, and the full shape of sliced parameters); by default derived from ours.
 */
export function exportMapped(mapping: ParamMapping[], ours: Map<string, Dense64>, theirShapes: Record<string, number[]> = {}): Map<string, Dense64> {
  const parts = new Map<string, { rows: [number, number] | undefined; t: Dense64 }[]>();
  for (const m of mapping) {
    const t = ours.get(m.ours);
    if (!t) throw new Error(`exporting: our parameter '${m.ours}' has no value`);
    const full = theirShapes[m.theirs];
    const theirShape = m.rows && full ? [m.rows[1] - m.rows[0], ...full.slice(1)] : full ?? t.shape;
    const list = parts.get(m.theirs) ?? [];
    list.push({ rows: m.rows, t: toTheirs(m, t, theirShape) });
    parts.set(m.theirs, list);
  }
  const out = new Map<string, Dense64>();
  for (const [name, list] of parts) {
    if (list.length === 1 && !list[0]!.rows) {
      out.set(name, list[0]!.t);
      continue;
    }
    list.sort((a, b) => a.rows![0] - b.rows![0]);
    const rows = list.reduce((n, p) => n + p.t.shape[0]!, 0);
    const data = new Float32Array(list.reduce((n, p) => n + p.t.data.length, 0));
    let o = 0;
    for (const p of list) {
      data.set(p.t.data, o);
      o += p.t.data.length;
    }
    out.set(name, { data, shape: [rows, ...list[0]!.t.shape.slice(1)] });
  }
  return out;
}

/** The parameters of a model by our names, as float32 data. */
export function moduleTensors(model: Module): Map<string, Dense64> {
  return new Map(model.namedParams().map((p) => [p.name, { shape: p.variable.shape, data: p.variable.dataSync() as Float32Array }]));
}

/** The `param.*` tensors of a case (or a plain state dict when no name has that prefix) as name -> Dense64. */
export function stateFromTensors(tensors: Map<string, SafeTensor>): Map<string, Dense64> {
  const hasPrefix = [...tensors.keys()].some((k) => k.startsWith('param.'));
  const out = new Map<string, Dense64>();
  for (const [k, t] of tensors) {
    if (hasPrefix && !k.startsWith('param.')) continue;
    if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) throw new Error(`weights: '${k}' is ${t.dtype}; parameters must be F32 or F64`);
    out.set(hasPrefix ? k.slice('param.'.length) : k, { shape: t.shape, data: t.data });
  }
  return out;
}

/** Records an intermediate activation under the original's name (values are copied at once). */
export type Tap = (name: string, t: tf.Tensor) => void;

/** What `runCase` computes on our model from a case's stored inputs. */
export interface OriginalRun {
  /** By the case's output names without `output.` (e.g. `logits`). */
  outputs: Record<string, Dense64>;
  loss: number;
  /** d loss / d parameter by the original's parameter names, plus `input.<name>` for continuous inputs. */
  grads: Record<string, Dense64>;
  /** By the case's names without `inter.`, in the order of the forward pass. */
  intermediates: [string, Dense64][];
}

/** A number among a case's constructor arguments; `who` (e.g. 'uea original') names the caller in the error. */
export function metaNumber(meta: OriginalCaseMeta, key: string, who: string): number {
  const v = meta.constructor_args[key];
  if (typeof v !== 'number') throw new Error(`${who}: constructor_args.${key} must be a number, got ${JSON.stringify(v)}`);
  return v;
}

/** What the generic tools (`flowformer check original`, `flowformer import`) need of a task. */
export interface OriginalHooks<M extends Module = Module> {
  /** The original classes this task reproduces (`cls` in a case's metadata). */
  classes: string[];
  /**
   * Our config for a case's constructor arguments: the `model` and `attention` sections, and
   * the data facts our build needs (`info`, as the task's `load` would report them).
   */
  configFromMeta(meta: OriginalCaseMeta): { model: Record<string, unknown>; attention: Record<string, unknown>; info: Record<string, unknown> };
  /** Builds our model for a case (from `configFromMeta`), eval-ready; weights still to import. */
  buildFromMeta(meta: OriginalCaseMeta, rng: Rng): M;
  /** Loads a state dict with the original's names (no `param.` prefix) into our model; throws naming the parameter. */
  importWeights(model: M, state: Map<string, Dense64>): ImportSummary;
  /** Our parameters under the original's names and layouts (`safetensors.torch.load_file` loads them into the original). */
  exportWeights(model: M): Map<string, Dense64>;
  /** Forward and backward on the case's stored inputs (eval mode), with named intermediates. */
  runCase(model: M, c: OriginalCase): OriginalRun;
}

/** `||a - b|| / ||b||` (absolute norm when `b` is zero). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    num += d * d;
    den += b[i]! * b[i]!;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** The README's tolerances (fixtures/golden/models/README.md, "Tolerances"). */
export const ORIGINAL_TOLERANCES = { outputs: 1e-4, loss: 1e-4, grads: 1e-3, zeroGrads: 1e-7, intermediates: 1e-4 } as const;

export interface CaseCheck {
  file: string;
  model: string;
  case: string;
  cls: string;
  backend: string;
  outputs: { name: string; relErr: number }[];
  loss: { ours: number; ref: number; relErr: number };
  /** The non-zero reference gradient with the largest relative error. */
  worstGrad: { name: string; relErr: number };
  /** The largest |ours| among gradients whose reference is exactly zero. */
  worstZeroGrad: { name: string; maxAbs: number } | null;
  intermediates: { name: string; relErr: number }[];
  /** The first intermediate (in forward order) beyond tolerance. */
  firstBadIntermediate: { name: string; relErr: number } | null;
  failures: string[];
  pass: boolean;
}

/**
 * Compares a run of ours with the case's reference tensors under the README's tolerances.
 * Every `grad.*` of the file is compared; a gradient ours does not produce is an error.
 */
export function compareCase(c: OriginalCase, run: OriginalRun, backend: string): CaseCheck {
  const tol = ORIGINAL_TOLERANCES;
  const failures: string[] = [];
  const sizeCheck = (name: string, ours: Dense64, ref: Dense64) => {
    if (ours.data.length !== ref.data.length) throw new Error(`${c.file}: '${name}' has ${ours.data.length} values in our run but ${ref.data.length} in the file ([${ours.shape}] vs [${ref.shape}])`);
  };
  const outputs = [...c.tensors.keys()]
    .filter((k) => k.startsWith('output.'))
    .map((k) => {
      const name = k.slice('output.'.length);
      const ours = run.outputs[name];
      if (!ours) throw new Error(`${c.file}: our run produced no output '${name}'`);
      const ref = caseTensor(c, k);
      sizeCheck(k, ours, ref);
      const relErr = relativeError(ours.data, ref.data);
      if (!(relErr < tol.outputs)) failures.push(`output '${name}': relative error ${relErr.toExponential(2)} >= ${tol.outputs}`);
      return { name, relErr };
    });
  const refLoss = caseTensor(c, 'loss').data[0]!;
  const loss = { ours: run.loss, ref: refLoss, relErr: Math.abs(run.loss - refLoss) / Math.abs(refLoss) };
  if (!(loss.relErr < tol.loss)) failures.push(`loss: ${run.loss} vs ${refLoss}, relative error ${loss.relErr.toExponential(2)} >= ${tol.loss}`);
  let worstGrad = { name: '', relErr: 0 };
  let worstZeroGrad: CaseCheck['worstZeroGrad'] = null;
  for (const k of c.tensors.keys()) {
    if (!k.startsWith('grad.')) continue;
    const name = k.slice('grad.'.length);
    const ours = run.grads[name];
    if (!ours) throw new Error(`${c.file}: our run produced no gradient for '${name}'`);
    const ref = caseTensor(c, k);
    sizeCheck(k, ours, ref);
    const zero = ref.data.every((v) => v === 0);
    if (zero) {
      let maxAbs = 0;
      for (const v of ours.data) maxAbs = Math.max(maxAbs, Math.abs(v));
      if (!worstZeroGrad || maxAbs > worstZeroGrad.maxAbs) worstZeroGrad = { name, maxAbs };
      if (!(maxAbs < tol.zeroGrads)) failures.push(`gradient '${name}' should be zero (it does not reach the loss): max |ours| ${maxAbs.toExponential(2)}`);
      continue;
    }
    const relErr = relativeError(ours.data, ref.data);
    if (!(relErr <= worstGrad.relErr) || worstGrad.name === '') worstGrad = { name, relErr };
    if (!(relErr < tol.grads)) failures.push(`gradient '${name}': relative error ${relErr.toExponential(2)} >= ${tol.grads}`);
  }
  const intermediates = run.intermediates.map(([name, ours]) => {
    const ref = caseTensor(c, `inter.${name}`);
    sizeCheck(`inter.${name}`, ours, ref);
    return { name, relErr: relativeError(ours.data, ref.data) };
  });
  const bad = intermediates.find((i) => !(i.relErr < tol.intermediates)) ?? null;
  if (bad) failures.push(`intermediate '${bad.name}' is the first to disagree: relative error ${bad.relErr.toExponential(2)} >= ${tol.intermediates}`);
  for (const k of c.tensors.keys()) {
    if (k.startsWith('inter.') && !run.intermediates.some(([n]) => `inter.${n}` === k)) throw new Error(`${c.file}: our run recorded no intermediate '${k.slice(6)}'`);
  }
  return {
    file: c.file,
    model: c.meta.model,
    case: String(c.meta.case),
    cls: c.meta.cls,
    backend,
    outputs,
    loss,
    worstGrad,
    worstZeroGrad,
    intermediates,
    firstBadIntermediate: bad,
    failures,
    pass: failures.length === 0,
  };
}

/**
 * Runs `forward` once on `inputs` and returns its outputs, the scalar loss and the gradients
 * of the loss with respect to every parameter of `model` (by our names) and to each input in
 * `inputs` (continuous inputs only; integer inputs go in through the closure).
 */
export function gradsOf(
  model: Module,
  inputs: Record<string, tf.Tensor>,
  forward: (inputs: Record<string, tf.Tensor>) => { outputs: Record<string, tf.Tensor>; loss: tf.Scalar },
): { outputs: Record<string, Dense64>; loss: number; paramGrads: Map<string, Dense64>; inputGrads: Record<string, Dense64> } {
  const params = model.namedParams();
  // Inputs become variables for the duration, so that one variableGrads call differentiates all.
  const inputVars = Object.fromEntries(Object.entries(inputs).map(([n, t]) => [n, tf.variable(t, true)]));
  const outputs: Record<string, Dense64> = {};
  let lossValue = NaN;
  try {
    const { value, grads } = tf.variableGrads(() => {
      const r = forward(inputVars);
      for (const [k, t] of Object.entries(r.outputs)) outputs[k] = { shape: t.shape, data: Float32Array.from(t.dataSync() as Float32Array) };
      return r.loss;
    }, [...params.map((p) => p.variable), ...Object.values(inputVars)]);
    lossValue = value.dataSync()[0]!;
    value.dispose();
    const read = (v: tf.Variable): Dense64 => {
      const g = grads[v.name];
      // A variable the loss does not reach gets no entry: its gradient is zero.
      return { shape: v.shape, data: g ? Float32Array.from(g.dataSync() as Float32Array) : new Float32Array(v.size) };
    };
    const paramGrads = new Map(params.map((p) => [p.name, read(p.variable)]));
    const inputGrads = Object.fromEntries(Object.entries(inputVars).map(([n, v]) => [n, read(v)]));
    for (const g of Object.values(grads)) g.dispose();
    return { outputs, loss: lossValue, paramGrads, inputGrads };
  } finally {
    for (const v of Object.values(inputVars)) v.dispose();
  }
}

/** Reads a tapped tensor into an intermediate list (copying its values). */
export function tapInto(list: [string, Dense64][]): Tap {
  return (name, t) => list.push([name, { shape: t.shape, data: Float32Array.from(t.dataSync() as Float32Array) }]);
}

/** Writes tensors by the original's names as a float32 safetensors file (`safetensors.torch.load_file` reads it). */
export function writeOriginalWeights(file: string, weights: Map<string, Dense64>): void {
  const tensors = new Map<string, SafeTensor>();
  for (const [name, t] of weights) tensors.set(name, { dtype: 'F32', shape: t.shape, data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data) });
  writeSafetensors(file, tensors);
}

/** The task whose `original` hooks reproduce a case: by the case's `model` (our task name), else by its class. */
/** What of a task the generic tools read (the Task interface, without importing it: task.ts names this file). */
export interface WithOriginal {
  name: string;
  original?: OriginalHooks<any>;
}

export function hooksForCase<T extends WithOriginal>(tasks: T[], meta: { model: string; cls: string }, file: string): { task: T; hooks: OriginalHooks<any> } {
  const withHooks = tasks.filter((t) => t.original);
  const task = withHooks.find((t) => t.name === meta.model) ?? withHooks.find((t) => t.original!.classes.includes(meta.cls));
  if (!task) {
    const known = withHooks.map((t) => `${t.name} (${t.original!.classes.join(', ')})`).join('; ') || 'none installed';
    throw new Error(`${file}: no task reproduces model '${meta.model}' / class '${meta.cls}'; tasks with original hooks: ${known}`);
  }
  return { task, hooks: task.original! };
}

/**
 * Builds our model for each case, loads its weights, runs its stored inputs forward and
 * backward on the current backend and compares with the stored outputs, loss and gradients.
 * An import error (a missing, unused or misshapen parameter) fails the file with that error.
 */
export function checkOriginalFiles(files: string[], tasks: WithOriginal[]): { file: string; check?: CaseCheck; error?: string }[] {
  return files.map((file) => {
    try {
      const c = readOriginalCase(file);
      const { hooks } = hooksForCase(tasks, c.meta, file);
      const model = hooks.buildFromMeta(c.meta, new Rng(0));
      try {
        hooks.importWeights(model, stateFromTensors(c.tensors));
        return { file, check: compareCase(c, hooks.runCase(model, c), backendInfo().backend) };
      } finally {
        model.dispose();
      }
    } catch (e) {
      return { file, error: (e as Error).message };
    }
  });
}

