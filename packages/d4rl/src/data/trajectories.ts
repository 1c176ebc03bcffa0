/**
 * Splitting a D4RL step table into trajectories, exactly as the paper's preprocessing
 * (thuml/Flowformer `Flowformer_RL/data/download_d4rl_datasets.py`, itself taken from
 * kzl/decision-transformer) does it:
 *
 * - a trajectory ends after step i when `terminals[i]` or `timeouts[i]` is set;
 * - a file without `timeouts` ends a trajectory every 1000 steps instead (the step counter
 *   is reset at every end, terminal or not);
 * - the steps after the last end form an unfinished trajectory that is DROPPED (the Python
 *   loop never flushes its buffer after the last row). D4RL v2 files end on a timeout or a
 *   terminal, so nothing is lost on them; a generated file might end mid-episode.
 */
import type { D4rlData } from './hdf5.ts';

/** One trajectory: a view [start, end) into the dataset's rows. */
export interface Trajectory {
  start: number;
  /** Exclusive. */
  end: number;
  length: number;
  /** Sum of the raw rewards. */
  return: number;
  /** True when it ended on a terminal (fell), false when on a timeout. */
  terminated: boolean;
}

export interface SplitResult {
  trajectories: Trajectory[];
  /** Steps after the last trajectory end, dropped as in the original code. */
  droppedSteps: number;
}

/** The paper's trajectory split; `maxEpisodeSteps` is used only when the file has no timeouts. */
export function splitTrajectories(d: D4rlData, maxEpisodeSteps = 1000): SplitResult {
  const trajectories: Trajectory[] = [];
  let start = 0;
  let episodeStep = 0;
  let ret = 0;
  for (let i = 0; i < d.size; i++) {
    ret += d.rewards[i]!;
    const terminal = d.terminals[i] !== 0;
    const finalStep = d.timeouts ? d.timeouts[i] !== 0 : episodeStep === maxEpisodeSteps - 1;
    if (terminal || finalStep) {
      trajectories.push({ start, end: i + 1, length: i + 1 - start, return: ret, terminated: terminal });
      start = i + 1;
      ret = 0;
      episodeStep = 0;
      // the original increments after the reset, so the step after an end counts as step 1
      // (an off-by-one of the no-timeouts fallback, kept for exactness)
    }
    episodeStep++;
  }
  return { trajectories, droppedSteps: d.size - start };
}
