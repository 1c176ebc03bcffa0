/**
 * A minimal module system in the spirit of nanoGPT's `nn.Module`: a module owns named
 * parameters (`tf.Variable`) and child modules, and its `forward` is plain tfjs code that
 * can be read top to bottom. We do not use tfjs-layers: our attentions need shapes and
 * control flow that are easier to write directly, and the trainer needs every variable by
 * a stable name (checkpoints, weight-decay groups, golden-vector loading).
 */
import { tf } from '../tf.ts';
import type { Rng } from '../rng.ts';

/** What a forward pass needs besides its inputs. */
export interface ForwardContext {
  /** Dropout and drop-path are active only when true. */
  training: boolean;
  /** Source of dropout seeds; required when `training` is true and any dropout rate > 0. */
  rng?: Rng;
}

export const EVAL: ForwardContext = { training: false };

export interface ParamOptions {
  /** Receives decoupled weight decay (false for norms, biases, position embeddings, ...). Default true. */
  decay?: boolean;
  /** Updated by the optimiser. Default true. */
  trainable?: boolean;
}

export interface ParamInfo {
  name: string;
  variable: tf.Variable;
  decay: boolean;
  trainable: boolean;
}

let nextUid = 0;

export abstract class Module {
  private readonly ownParams = new Map<string, ParamInfo>();
  private readonly ownChildren = new Map<string, Module>();
  /** Unique per process: keeps tfjs variable names distinct when two models coexist. */
  private readonly uid = nextUid++;

  /** Registers a parameter; `init` is kept (not copied) as the variable's initial value and then disposed. */
  protected param(name: string, init: tf.Tensor, opts: ParamOptions = {}): tf.Variable {
    if (this.ownParams.has(name) || this.ownChildren.has(name)) throw new Error(`duplicate parameter name '${name}'`);
    const trainable = opts.trainable ?? true;
    const variable = tf.variable(init, trainable, `m${this.uid}/${name}`);
    init.dispose();
    this.ownParams.set(name, { name, variable, decay: opts.decay ?? true, trainable });
    return variable;
  }

  /** Registers a child module under `name` and returns it. */
  protected child<M extends Module>(name: string, m: M): M {
    if (this.ownParams.has(name) || this.ownChildren.has(name)) throw new Error(`duplicate child name '${name}'`);
    this.ownChildren.set(name, m);
    return m;
  }

  /** Every parameter below this module, with dotted names (`blocks.0.attn.query.kernel`). */
  namedParams(prefix = ''): ParamInfo[] {
    const out: ParamInfo[] = [];
    for (const p of this.ownParams.values()) out.push({ ...p, name: prefix + p.name });
    for (const [n, c] of this.ownChildren) out.push(...c.namedParams(`${prefix}${n}.`));
    return out;
  }

  /** This module and every module below it, with dotted names ('' for this one, then `blocks.0`, `blocks.0.attn`, ...). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, c] of this.ownChildren) out.push(...c.namedModules(`${prefix}${n}.`));
    return out;
  }

  /** Trainable variables, in a stable order. */
  trainableVariables(): tf.Variable[] {
    return this.namedParams()
      .filter((p) => p.trainable)
      .map((p) => p.variable);
  }

  /** Total number of scalar parameters (trainable only unless `all`). */
  numParams(all = false): number {
    return this.namedParams()
      .filter((p) => all || p.trainable)
      .reduce((n, p) => n + p.variable.size, 0);
  }

  /** Copies values into parameters by dotted name; throws on unknown names or shape mismatches. */
  loadState(state: Record<string, tf.Tensor>, strict = true): void {
    const byName = new Map(this.namedParams().map((p) => [p.name, p]));
    for (const [name, t] of Object.entries(state)) {
      const p = byName.get(name);
      if (!p) {
        if (strict) throw new Error(`loadState: no parameter named '${name}'`);
        continue;
      }
      if (p.variable.shape.join(',') !== t.shape.join(',')) {
        throw new Error(`loadState: '${name}' has shape [${p.variable.shape}] but the value has [${t.shape}]`);
      }
      p.variable.assign(t);
    }
    if (strict) {
      for (const name of byName.keys()) if (!(name in state)) throw new Error(`loadState: missing value for '${name}'`);
    }
  }

  dispose(): void {
    for (const p of this.ownParams.values()) p.variable.dispose();
    for (const c of this.ownChildren.values()) c.dispose();
  }
}
