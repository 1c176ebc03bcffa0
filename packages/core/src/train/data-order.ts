/**
 * Which training examples each update sees.
 *
 * An epoch is a permutation of the N training examples (drawn from the data Rng when
 * `shuffle`, else 0..N-1), cut into micro-batches of `batchSize`; an update takes `gradAccum`
 * consecutive micro-batches. With `dropLast` a short last micro-batch, and a short last update,
 * are skipped.
 *
 * The position (epoch, update within it, the data Rng's state at the start of the epoch and
 * now) is all a checkpoint needs: a resumed run redraws the epoch's permutation from its
 * starting state and continues at the same update.
 */
import type { Rng, RngState } from '../rng.ts';

export interface DataOrderArgs {
  /** N, the number of training examples. */
  size: number;
  batchSize: number;
  gradAccum: number;
  dropLast: boolean;
  shuffle: boolean;
  /** The run's data Rng (runRandomness().data). */
  rng: Rng;
}

/** What a checkpoint keeps of the data order. */
export interface DataPosition {
  epoch: number;
  batchInEpoch: number;
  epochRngState: RngState;
  dataRngState: RngState;
}

export class DataOrder {
  readonly stepsPerEpoch: number;
  epoch = 0;
  /** Updates done in the current epoch. */
  batchInEpoch = 0;
  private readonly args: DataOrderArgs;
  private epochRngState: RngState;
  /** This epoch's order; null until the first update (after a start or a resume) redraws it. */
  private perm: Int32Array | null = null;

  constructor(args: DataOrderArgs) {
    const { size: N, batchSize, gradAccum, dropLast } = args;
    const microPerEpoch = dropLast ? Math.floor(N / batchSize) : Math.ceil(N / batchSize);
    this.stepsPerEpoch = dropLast ? Math.floor(microPerEpoch / gradAccum) : Math.ceil(microPerEpoch / gradAccum);
    if (this.stepsPerEpoch < 1) {
      throw new Error(`the training split has ${N} examples, fewer than one update of ${batchSize} x ${gradAccum}; lower training.batchSize or training.gradAccum, or set training.dropLast: false`);
    }
    this.args = args;
    this.epochRngState = args.rng.getState();
  }

  position(): DataPosition {
    return { epoch: this.epoch, batchInEpoch: this.batchInEpoch, epochRngState: this.epochRngState, dataRngState: this.args.rng.getState() };
  }

  restore(p: DataPosition): void {
    ({ epoch: this.epoch, batchInEpoch: this.batchInEpoch, epochRngState: this.epochRngState } = p);
    this.args.rng.setState(p.dataRngState);
    this.perm = null;
  }

  /** The example indices of each micro-batch of the next update (the last update of an epoch may have fewer). */
  update(): Int32Array[] {
    if (this.perm === null) {
      // Fresh start or resume: redraw this epoch's order from the state at its start.
      this.args.rng.setState(this.epochRngState);
      this.perm = this.draw();
    }
    const micro: Int32Array[] = [];
    for (let k = 0; k < this.args.gradAccum; k++) {
      const idx = this.micro(this.batchInEpoch * this.args.gradAccum + k);
      if (idx) micro.push(idx);
    }
    return micro;
  }

  /** Moves past the update just made; at the end of an epoch, draws the next epoch's order. */
  advance(): void {
    this.batchInEpoch += 1;
    if (this.batchInEpoch >= this.stepsPerEpoch) {
      this.epoch += 1;
      this.batchInEpoch = 0;
      this.epochRngState = this.args.rng.getState();
      this.perm = this.draw();
    }
  }

  /** The first micro-batch of the next update (to build it ahead), or null. */
  nextFirst(): Int32Array | null {
    return this.micro(this.batchInEpoch * this.args.gradAccum);
  }

  /**
   * Before `advance()`: the first micro-batch of the update `ahead` (>= 1) after the current one
   * when it is in the same epoch (the indices `nextFirst()` gives after `ahead` advances), else null.
   */
  peekFirst(ahead: number): Int32Array | null {
    if (this.perm === null || this.batchInEpoch + ahead >= this.stepsPerEpoch) return null;
    return this.micro((this.batchInEpoch + ahead) * this.args.gradAccum);
  }

  private draw(): Int32Array {
    const N = this.args.size;
    return this.args.shuffle ? this.args.rng.permutation(N) : Int32Array.from({ length: N }, (_, i) => i);
  }

  private micro(mb: number): Int32Array | null {
    const { size: N, batchSize, dropLast } = this.args;
    const start = mb * batchSize;
    if (start >= N) return null;
    const end = Math.min(N, start + batchSize);
    if (dropLast && end - start < batchSize) return null;
    return this.perm!.subarray(start, end);
  }
}
