/**
 * The 10 UEA datasets of the paper's time-series classification table (Wu et al. 2022), with
 * the accuracies (%) the paper reports for Flowformer and the vanilla Transformer, and the
 * epochs of the original script (`Flowformer_TimeSeries/scripts/flowformer.sh`).
 */
export interface UeaDatasetInfo {
  name: string;
  paper: { flowformer: number; transformer: number };
  epochs: number;
}

export const PAPER_DATASETS: readonly UeaDatasetInfo[] = [
  { name: 'EthanolConcentration', paper: { flowformer: 33.8, transformer: 32.7 }, epochs: 100 },
  { name: 'FaceDetection', paper: { flowformer: 67.6, transformer: 67.3 }, epochs: 100 },
  { name: 'Handwriting', paper: { flowformer: 33.8, transformer: 32.0 }, epochs: 100 },
  { name: 'Heartbeat', paper: { flowformer: 77.6, transformer: 76.1 }, epochs: 100 },
  { name: 'JapaneseVowels', paper: { flowformer: 98.9, transformer: 98.7 }, epochs: 100 },
  { name: 'PEMS-SF', paper: { flowformer: 83.8, transformer: 82.1 }, epochs: 400 },
  { name: 'SelfRegulationSCP1', paper: { flowformer: 92.5, transformer: 92.2 }, epochs: 100 },
  { name: 'SelfRegulationSCP2', paper: { flowformer: 56.1, transformer: 53.9 }, epochs: 100 },
  { name: 'SpokenArabicDigits', paper: { flowformer: 98.8, transformer: 98.4 }, epochs: 100 },
  { name: 'UWaveGestureLibrary', paper: { flowformer: 86.6, transformer: 85.6 }, epochs: 100 },
];

/** The average over the 10 datasets (the paper reports 73.0 for Flowformer; computed here from the rows). */
export function paperAverage(model: 'flowformer' | 'transformer'): number {
  return PAPER_DATASETS.reduce((s, d) => s + d.paper[model], 0) / PAPER_DATASETS.length;
}
