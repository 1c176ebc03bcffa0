/** Launching jobs on several workers: claims (one worker per job), Slurm's view of jobs, GPU hygiene. */
export * from './claims.ts';
export * from './slurm.ts';
export * from './gpus.ts';
