/**
 * Stopping on a signal: Ctrl-C (SIGINT) and `kill` or a job scheduler's time limit (SIGTERM).
 *
 * The first signal asks the trainer to finish the update it is in, save ckpt/last, record the
 * run as 'interrupted' (resumable with --resume) and return; a second one kills as usual. A
 * repeat within a second is the same request arriving twice (a scheduler that signals every
 * process of a job reaches both the trainer and the `flowformer` launcher, which passes it on),
 * so the handlers stay that long after the first.
 *
 * `signal` says which one arrived, for a caller that answers them differently: a batch
 * launcher whose scheduler sends SIGTERM (or another signal, see `signals`) before the time
 * limit wants the checkpoint, then an exit status it takes as "requeue me", and the requeued
 * job continues with --resume; a Ctrl-C at a terminal wants 130.
 */
export interface StopSignalsArgs {
  /** Said once, when the first signal arrives. */
  log: (msg: string) => void;
  /** Which signals stop the run. Default SIGINT and SIGTERM. */
  signals?: NodeJS.Signals[];
  /** How long the handlers outlive the first signal, in ms. Default 1000. */
  graceMs?: number;
}

export class StopSignals {
  /** The signal that asked to stop, or null. */
  signal: NodeJS.Signals | null = null;
  private readonly signals: NodeJS.Signals[];
  private readonly onSignal: (s: NodeJS.Signals) => void;

  /** Installs the handlers; `dispose()` removes them. */
  constructor(args: StopSignalsArgs) {
    this.signals = args.signals ?? ['SIGINT', 'SIGTERM'];
    this.onSignal = (signal) => {
      if (this.signal) return;
      this.signal = signal;
      args.log(`${signal}: finishing this update, saving ckpt/last, then stopping (send it again to kill)`);
      setTimeout(() => this.dispose(), args.graceMs ?? 1000).unref();
    };
    for (const s of this.signals) process.on(s, this.onSignal);
  }

  get requested(): boolean {
    return this.signal !== null;
  }

  dispose(): void {
    for (const s of this.signals) process.removeListener(s, this.onSignal);
  }
}
