/**
 * Where a training step's time and memory go (`flowformer bench step --profile`).
 *
 * One step (forward + the trainer's backward pass) runs under `tf.profile`, with three things
 * recorded besides:
 *   - the kernel count at the end of the forward (the tape is complete there), which splits the
 *     kernels launched and their time into forward and backward;
 *   - the tape's saved tensors at that moment: what the forward keeps alive for the backward
 *     (inputs and outputs each gradient function asked for; a customGrad op's `save`), counted
 *     once per buffer (a reshape shares its input's buffer), by the kernel that saved them and
 *     by the module whose `forward` recorded that kernel;
 *   - the module of every tape node: each module's `forward` is wrapped for this one step, and
 *     the nodes recorded between its entry and exit that no inner module claimed are its own.
 * Tensors are attributed to the first node (in forward order) that saved them.
 */
import { tf } from '../tf.ts';
import type { Module } from '../nn/module.ts';
import type { TapeNode } from '../train/grads.ts';
import { savedOnPath } from '../nn/backward.ts';

export interface KernelProfileRow {
  kernel: string;
  forwardCount: number;
  backwardCount: number;
  forwardMs: number;
  backwardMs: number;
}

export interface SavedRow {
  /** Kernel name, or module path ('' = the model itself, '(outside)' = the loss outside any forward). */
  name: string;
  tensors: number;
  bytes: number;
}

export interface SavedTensorRow {
  module: string;
  kernel: string;
  shape: number[];
  dtype: string;
  bytes: number;
}

export interface StepProfile {
  /** Kernels launched by the forward and by the backward pass (custom-gradient ops count their inner kernels, not themselves). */
  forwardKernels: number;
  backwardKernels: number;
  /** Sum of the per-kernel times (the backend's timer), forward and backward. */
  forwardKernelMs: number;
  backwardKernelMs: number;
  /** Peak of tracked tensor bytes during the step, above what was live before it. */
  peakBytes: number;
  /** Where the peak was reached: in which pass, after which kernel (or custom op, by its scope name). */
  peakAt: { pass: 'forward' | 'backward'; kernel: string };
  /** Bytes of the distinct buffers the tape's nodes saved for the backward pass (on the gradient path). */
  savedBytes: number;
  /** Tracked tensor bytes alive between forward and backward, above what was live before the step. */
  liveAfterForwardBytes: number;
  /** By kernel name, most time first. */
  kernels: KernelProfileRow[];
  /** Saved bytes by the kernel that saved them, most first. */
  savedByKernel: SavedRow[];
  /** Saved bytes by module path (the innermost module whose forward ran the kernel), most first. */
  savedByModule: SavedRow[];
  /** The largest saved buffers, most first (at most 25). */
  largestSaved: SavedTensorRow[];
}

interface EngineProfileState {
  state: { activeTape: TapeNode[] | null; activeProfile: { kernels: { name: string }[] }; numBytes: number };
}

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/**
 * Wraps `forward` of every module below `model` so that tape nodes recorded inside it are
 * credited to its path; returns the owner map and a function that undoes the wrapping.
 */
function creditTapeNodesToModules(model: Module): { owner: Map<number, string>; restore: () => void } {
  const engine = tf.engine() as unknown as EngineProfileState;
  const owner = new Map<number, string>();
  const restores: (() => void)[] = [];
  for (const [name, m] of model.namedModules()) {
    const target = m as unknown as { forward?: (...a: unknown[]) => unknown };
    if (typeof target.forward !== 'function') continue;
    const own = Object.prototype.hasOwnProperty.call(target, 'forward');
    const original = target.forward;
    target.forward = function (this: unknown, ...args: unknown[]) {
      const tape = engine.state.activeTape;
      const start = tape?.length ?? 0;
      try {
        return original.apply(this, args);
      } finally {
        if (tape) for (let i = start; i < tape.length; i++) if (!owner.has(tape[i]!.id)) owner.set(tape[i]!.id, name);
      }
    };
    restores.push(() => {
      if (own) target.forward = original;
      else delete target.forward;
    });
  }
  return { owner, restore: () => restores.forEach((r) => r()) };
}

function sortedRows(m: Map<string, { tensors: number; bytes: number }>): SavedRow[] {
  return [...m].map(([name, v]) => ({ name, ...v })).sort((a, b) => b.bytes - a.bytes);
}

/**
 * Profiles one step: `step(afterForward)` must run forward + backward with `variableGrads` of
 * train/grads.ts, passing `afterForward` on, and dispose what it made.
 */
export async function profileStep(model: Module, step: (afterForward: (tape: readonly TapeNode[], onPath: ReadonlySet<number>) => void) => void): Promise<StepProfile> {
  const engine = tf.engine() as unknown as EngineProfileState;
  const backend = tf.getBackend();
  const isKernel = (name: string) => tf.getKernel(name, backend) !== undefined;
  const bytesBefore = tf.memory().numBytes;
  let forwardEnd = -1;
  let liveAfterForward = 0;
  const savedByKernel = new Map<string, { tensors: number; bytes: number }>();
  const savedByModule = new Map<string, { tensors: number; bytes: number }>();
  const largest: SavedTensorRow[] = [];
  let savedBytes = 0;
  const { owner, restore } = creditTapeNodesToModules(model);
  let info: Awaited<ReturnType<typeof tf.profile>>;
  try {
    info = await tf.profile(() =>
      step((tape, onPath) => {
        forwardEnd = engine.state.activeProfile.kernels.length;
        liveAfterForward = engine.state.numBytes - bytesBefore;
        for (const { node, tensor: t } of savedOnPath(tape, onPath)) {
          const bytes = t.size * (BYTES_PER_ELEMENT[t.dtype] ?? 4);
          const module = owner.get(node.id) ?? '(outside)';
          savedBytes += bytes;
          for (const [map, key] of [[savedByKernel, node.kernelName], [savedByModule, module]] as const) {
            const row = map.get(key) ?? { tensors: 0, bytes: 0 };
            row.tensors += 1;
            row.bytes += bytes;
            map.set(key, row);
          }
          largest.push({ module, kernel: node.kernelName, shape: [...t.shape], dtype: t.dtype, bytes });
        }
      }),
    );
  } finally {
    restore();
  }
  if (forwardEnd < 0) throw new Error('profileStep: the step never reached the end of its forward pass (was variableGrads given afterForward?)');
  const rows = new Map<string, KernelProfileRow>();
  let fwdN = 0;
  let bwdN = 0;
  let fwdMs = 0;
  let bwdMs = 0;
  info.kernels.forEach((k, i) => {
    if (!isKernel(k.name)) return; // a customGrad op: its inner kernels are listed on their own
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const row = rows.get(k.name) ?? { kernel: k.name, forwardCount: 0, backwardCount: 0, forwardMs: 0, backwardMs: 0 };
    if (i < forwardEnd) {
      row.forwardCount++;
      row.forwardMs += ms;
      fwdN++;
      fwdMs += ms;
    } else {
      row.backwardCount++;
      row.backwardMs += ms;
      bwdN++;
      bwdMs += ms;
    }
    rows.set(k.name, row);
  });
  let peakIndex = 0;
  info.kernels.forEach((k, i) => {
    if (k.totalBytesSnapshot > info.kernels[peakIndex]!.totalBytesSnapshot) peakIndex = i;
  });
  return {
    forwardKernels: fwdN,
    backwardKernels: bwdN,
    forwardKernelMs: fwdMs,
    backwardKernelMs: bwdMs,
    peakBytes: info.peakBytes - bytesBefore,
    peakAt: { pass: peakIndex < forwardEnd ? 'forward' : 'backward', kernel: info.kernels[peakIndex]?.name ?? '' },
    savedBytes,
    liveAfterForwardBytes: liveAfterForward,
    kernels: [...rows.values()].sort((a, b) => b.forwardMs + b.backwardMs - (a.forwardMs + a.backwardMs)),
    savedByKernel: sortedRows(savedByKernel),
    savedByModule: sortedRows(savedByModule),
    largestSaved: largest.sort((a, b) => b.bytes - a.bytes).slice(0, 25),
  };
}

/** The profile as markdown: totals, then kernels by time, saved bytes by module and by kernel (the top `top` rows each). */
export function formatStepProfile(p: StepProfile, top = 20): string {
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  const lines = [
    `Kernels launched: ${p.forwardKernels} forward, ${p.backwardKernels} backward; kernel time ${p.forwardKernelMs.toFixed(0)} ms forward, ${p.backwardKernelMs.toFixed(0)} ms backward.`,
    `Kept for the backward pass: ${mib(p.savedBytes)} MiB saved by the tape (${mib(p.liveAfterForwardBytes)} MiB of tensors alive after the forward); peak ${mib(p.peakBytes)} MiB, in the ${p.peakAt.pass} pass at ${p.peakAt.kernel}.`,
    '',
    '| kernel | forward launches | backward launches | forward ms | backward ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...p.kernels.slice(0, top).map((k) => `| ${k.kernel} | ${k.forwardCount} | ${k.backwardCount} | ${k.forwardMs.toFixed(1)} | ${k.backwardMs.toFixed(1)} |`),
    '',
    '| module | saved tensors | saved MiB |',
    '| --- | ---: | ---: |',
    ...p.savedByModule.slice(0, top).map((r) => `| ${r.name || '(model)'} | ${r.tensors} | ${mib(r.bytes)} |`),
    '',
    '| saved by kernel | saved tensors | saved MiB |',
    '| --- | ---: | ---: |',
    ...p.savedByKernel.slice(0, top).map((r) => `| ${r.name} | ${r.tensors} | ${mib(r.bytes)} |`),
  ];
  return lines.join('\n');
}
