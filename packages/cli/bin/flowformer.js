#!/usr/bin/env node
// The `flowformer` command. It runs our packages from their TypeScript sources, never from a
// build that may be stale: it adds the "source" export condition (each package.json lists
// "source": "./src/..." before the dist/ build), registers tsx's ESM loader and then imports the
// real entry point. Plain `import('@flowformer/...')` from Node gets the build instead.
//
// First, on Linux, it starts itself once more with glibc's malloc kept off mmap. glibc serves
// every block above its mmap threshold (32 MiB at most) with fresh pages and unmaps them on
// free, so each large activation of a training step page-faults all its memory in again. Where
// a page fault is slow (this project's VM: about 13 us per 4 KiB page) that was up to half of a
// step: SelfRegulationSCP1's Flowformer at batch 16 took 8.5 s per step, 4.5 s without mmap
// (`flowformer bench step`; README, "Measured here"). glibc reads these settings only when a process
// starts, hence the second process. FLOWFORMER_MALLOC=system keeps glibc's defaults.
import { spawn } from 'node:child_process';

const MALLOC_ENV = { MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: String(2 ** 36) };
const relaunch = process.platform === 'linux' && process.env.FLOWFORMER_MALLOC !== 'system' && process.env.MALLOC_MMAP_MAX_ === undefined;

if (relaunch) {
  // Its own process group, so that a Ctrl-C in the terminal reaches it once: from here. A signal
  // sent to this pid is passed on the same way; the trainer ignores a repeat within a second (a
  // scheduler that signals every process of a job reaches both).
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, ...MALLOC_ENV },
    detached: true,
  });
  const pass = (signal) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGWINCH', 'SIGCONT']) process.on(signal, pass(signal));
  // Ctrl-Z: stop the command, then this process, so that the shell's `fg` (SIGCONT) resumes both.
  process.on('SIGTSTP', () => {
    pass('SIGSTOP')();
    process.kill(process.pid, 'SIGSTOP');
  });
  child.on('error', (e) => {
    console.error(`flowformer: could not start ${process.execPath}: ${e.message}`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die of the same signal, as a shell expects of a command killed by one.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
} else {
  const { register: registerHooks } = await import('node:module');
  // Registered before tsx: the last registered hook runs first, so tsx resolves a specifier and
  // hands it on to this one, which adds the condition before Node's own resolver.
  registerHooks('./source-condition.js', import.meta.url);
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/main.ts');
  await main(process.argv.slice(2));
}
