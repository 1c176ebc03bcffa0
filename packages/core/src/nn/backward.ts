/**
 * A backward pass that frees memory as it goes (the trainer's, through train/grads.ts
 * `variableGrads`, and activation recomputation's, nn/recompute.ts).
 *
 * tfjs's own backward pass (tfjs-core 4.22 `Engine.gradients`) walks the tape from the loss
 * back to the variables and keeps two things alive until the very end: the gradient of every
 * intermediate tensor, and every tensor the forward pass saved for the backward one. Its peak
 * is therefore the whole forward's saved activations PLUS the gradients of all of them. For the
 * paper's UEA encoder on SelfRegulationSCP1 (L 896, d 512, batch 16) that is ~13 GB of resident
 * memory, and the softmax Transformer beside it was killed by the out-of-memory killer.
 *
 * This walk computes exactly the same gradients (same kernels, same order of accumulation) but
 * drops what is no longer needed, as PyTorch's autograd does:
 *   - a tensor's gradient, once the node that produced the tensor has been back-propagated
 *     (the tape is in topological order, so by then that gradient is complete);
 *   - a node's saved tensors, once its gradient has been computed (at once, for a node that is
 *     on no path from the variables to the loss).
 * The peak becomes the saved activations (shrinking during the backward pass) plus the
 * gradients in flight.
 *
 * It reads two of the engine's internals that tfjs does not export (the active tape and the
 * tape-node fields `inputs`, `outputs`, `saved`, `gradient`), which is why the tfjs version is
 * pinned; `grads.test.ts` checks it against `tf.variableGrads` and checks the memory it saves.
 * Higher-order gradients (a gradient taken inside a gradient) fall back to tfjs's own pass.
 */
import { tf } from '../tf.ts';

/** The fields of a tfjs tape node this pass uses. */
export interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

/** The engine internals this pass uses (tfjs-core 4.x). */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<R>(start: () => void, end: () => void, f: () => R): R;
  startTape(): void;
  endTape(): void;
  tidy<T>(nameOrFn: string | (() => T), fn?: () => T): T;
  /** tfjs's own pass (`Engine.gradients`). */
  gradients(f: () => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor | null, allowNoGradients: boolean): { value: tf.Tensor; grads: (tf.Tensor | undefined)[] };
}

/**
 * The nodes of `tape` on a path from one of `xs` to `y`, in tape order, each with its inputs
 * pruned to those that depend on `xs` (no gradient is computed for the others, e.g. the data).
 */
export function nodesFromXsToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  // Forward: which tensors depend on xs.
  const fromXs = new Set<number>(xs.map((x) => x.id));
  const nodeFromXs = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromXs.has(t.id))) {
      nodeFromXs.add(node.id);
      for (const o of node.outputs) fromXs.add(o.id);
    }
  }
  // Backward: which tensors lead to y.
  const toY = new Set<number>([y.id]);
  const nodeToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      nodeToY.add(node.id);
      for (const t of Object.values(node.inputs)) toY.add(t.id);
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodeFromXs.has(node.id) || !nodeToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(node.inputs)) if (fromXs.has(t.id)) inputs[name] = t;
    out.push({ ...node, inputs });
  }
  return out;
}

/**
 * What the nodes on the path from the variables to the loss keep for the backward pass: each
 * saved buffer once (a reshape shares its input's), with the first node that keeps it.
 */
export function savedOnPath(tape: readonly TapeNode[], onPath: ReadonlySet<number>): { node: TapeNode; tensor: tf.Tensor }[] {
  const seen = new Set<unknown>();
  const out: { node: TapeNode; tensor: tf.Tensor }[] = [];
  for (const node of tape) {
    if (!onPath.has(node.id)) continue;
    for (const tensor of node.saved ?? []) {
      if (seen.has(tensor.dataId)) continue;
      seen.add(tensor.dataId);
      out.push({ node, tensor });
    }
  }
  return out;
}

/**
 * Sees the tape between the forward and the backward pass (`bench step --profile`): `tape` is
 * every node the forward recorded, `onPath` the ids of those the backward will walk.
 */
export type AfterForward = (tape: readonly TapeNode[], onPath: ReadonlySet<number>) => void;

/**
 * Gradients of the scalar `f()` with respect to `xs`, as `tf.engine().gradients` computes them,
 * but freeing each intermediate gradient and each node's saved tensors as soon as the walk is
 * past them. Returns `y` and one gradient (or null, if `y` does not depend on it) per x.
 * With `dy` (y's shape), the gradients are those of sum(y * dy): a vector-Jacobian product.
 */
export function gradientsFreeingAsYouGo(f: () => tf.Tensor, xs: tf.Tensor[], afterForward?: AfterForward, dy?: tf.Tensor): { value: tf.Tensor; grads: (tf.Tensor | null)[] } {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.state.gradientDepth > 0) {
    // Inside another gradient: the outer one needs the tape and the saved tensors; use tfjs's pass.
    const r = engine.gradients(f, xs, dy ?? null, true);
    return { value: r.value, grads: r.grads.map((g) => g ?? null) };
  }
  const y = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => engine.tidy('forward', f),
  );
  if (!(y instanceof tf.Tensor)) throw new Error('gradientsFreeingAsYouGo: f must return a tensor');
  const tape = engine.state.activeTape!;
  const nodes = nodesFromXsToY(tape, xs, y);
  const xIds = new Set(xs.map((x) => x.id));
  // Nodes off every path from xs to y (dropout masks drawn, padding masks built, ...) are never
  // back-propagated: what they saved can go before the walk starts.
  const onPath = new Set(nodes.map((n) => n.id));
  afterForward?.(tape, onPath);
  for (const node of tape) if (!onPath.has(node.id)) for (const t of node.saved ?? []) t.dispose();

  return engine.tidy('backward', () => {
    // The gradient of each tensor id seen so far. Every value is its own Tensor object, so
    // freeing one entry never frees another.
    const grad = new Map<number, tf.Tensor>();
    // d y / d y; a given `dy` (the upstream gradient of a vector-Jacobian product) has y's shape.
    grad.set(y.id, dy ? tf.clone(dy) : tf.onesLike(y));
    try {
      for (let i = nodes.length - 1; i >= 0; i--) {
        const node = nodes[i]!;
        if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
        const dys = node.outputs.map((o) => grad.get(o.id) ?? null);
        // Tensors made from here on are this node's; any older one a gradient function hands
        // back (its dy, a saved tensor, something it captured) is cloned before it is stored.
        const firstNewId = (engine.constructor as unknown as { nextTensorId: number }).nextTensorId;
        const inputs = Object.entries(node.inputs);
        // One scope per node: what its gradient function makes besides the input gradients (a
        // customGrad op computes everything when called, zeros for a missing dy) goes at once.
        const dxs = engine.tidy(() => {
          const inputGrads = node.gradient!(dys);
          return inputs.map(([name]) => {
            const fn = inputGrads[name];
            if (!fn) throw new Error(`Cannot backprop through input ${name} of ${node.kernelName}. Available gradients: ${Object.keys(inputGrads).join(', ')}.`);
            return fn();
          });
        });
        const stored = new Set<tf.Tensor>();
        for (const [i, [name, x]] of inputs.entries()) {
          let dx = dxs[i]!;
          if (dx.dtype !== 'float32') throw new Error(`Error in gradient for op ${node.kernelName}: the gradient of input ${name} must be float32, but is ${dx.dtype}`);
          if (!tf.util.arraysEqual(dx.shape, x.shape)) throw new Error(`Error in gradient for op ${node.kernelName}: the gradient of input '${name}' has shape ${dx.shape}, the input ${x.shape}`);
          if (dx.id < firstNewId || stored.has(dx)) dx = tf.clone(dx);
          stored.add(dx);
          const cur = grad.get(x.id);
          if (cur === undefined) grad.set(x.id, dx);
          else {
            grad.set(x.id, tf.add(cur, dx));
            cur.dispose();
            dx.dispose();
          }
        }
        // This node is done: its outputs' gradients and its saved tensors are needed no more.
        for (const o of node.outputs) {
          if (xIds.has(o.id)) continue;
          grad.get(o.id)?.dispose();
          grad.delete(o.id);
        }
        for (const t of node.saved ?? []) t.dispose();
      }
      return { value: y, grads: xs.map((x) => grad.get(x.id) ?? null) };
    } finally {
      // As tfjs does: the tape is spent; free whatever its nodes (also those off the path) saved.
      for (const node of tape) for (const t of node.saved ?? []) t.dispose();
      engine.state.activeTape = null;
    }
  });
}

