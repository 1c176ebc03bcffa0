/**
 * The 10 UEA datasets of the paper's time-series classification table (Wu et al. 2022), in its
 * row order, with the epochs of the original script (`Flowformer_TimeSeries/scripts/flowformer.sh`).
 * The paper's accuracies are not repeated here: they live in results/paper/flowformer-paper.json
 * (table 'uea'), read with `paperValue('uea', name, 'Flowformer')` from @flowformer/core; a test
 * keeps this list equal to that table's rows.
 */
export interface UeaDatasetInfo {
  name: string;
  /** Training epochs of the original script (and of our paper-recipe configs). */
  epochs: number;
}

export const PAPER_DATASETS: readonly UeaDatasetInfo[] = [
  { name: 'EthanolConcentration', epochs: 100 },
  { name: 'FaceDetection', epochs: 100 },
  { name: 'Handwriting', epochs: 100 },
  { name: 'Heartbeat', epochs: 100 },
  { name: 'JapaneseVowels', epochs: 100 },
  { name: 'PEMS-SF', epochs: 400 },
  { name: 'SelfRegulationSCP1', epochs: 100 },
  { name: 'SelfRegulationSCP2', epochs: 100 },
  { name: 'SpokenArabicDigits', epochs: 100 },
  { name: 'UWaveGestureLibrary', epochs: 100 },
];
