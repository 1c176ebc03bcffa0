import fs from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { parse } from 'yaml';
import { getTask, initBackend } from '@flowformer/core';
import { runRoots } from './train.ts';

interface GenerateCliArgs {
  run: string;
  prompt: string;
  tokens: number;
  temperature: number;
  'top-k'?: number;
  seed: number;
  checkpoint: 'best' | 'last';
  backend?: string;
  'data-root'?: string;
}

export const generateCommand: CommandModule<object, GenerateCliArgs> = {
  command: 'generate',
  describe: 'Sample text from a trained language model (recurrent causal Flow-Attention: O(1) per token)',
  builder: (y) =>
    y
      .option('run', { type: 'string', demandOption: true, describe: 'a run folder of a task that generates (wikitext)' })
      .option('prompt', { type: 'string', default: '', describe: 'text to continue' })
      .option('tokens', { type: 'number', default: 200, describe: 'how many tokens to sample' })
      .option('temperature', { type: 'number', default: 1, describe: 'divide the logits by this (lower = more conservative)' })
      .option('top-k', { type: 'number', describe: 'sample only among the k most likely tokens' })
      .option('seed', { type: 'number', default: 0, describe: 'sampling seed' })
      .option('checkpoint', { choices: ['best', 'last'] as const, default: 'best' as const })
      .example('$0 generate --run results/runs/wikitext/shakespeare-char-flowformer/<id> --prompt "ROMEO:" --tokens 300 --top-k 40', 'Shakespeare-ish text') as never,
  handler: async (args) => {
    const configPath = path.join(args.run, 'config.yaml');
    if (!fs.existsSync(configPath)) throw new Error(`${args.run}: no config.yaml; pass a run folder (results/runs/<task>/<config>/<run-id>)`);
    const taskName = (parse(fs.readFileSync(configPath, 'utf8')) as { task?: string }).task ?? '';
    const task = getTask(taskName);
    if (!task.generate) throw new Error(`task '${task.name}' does not generate text (only language-model tasks do, e.g. wikitext)`);
    await initBackend(args.backend as never);
    const roots = runRoots(args);
    process.stdout.write(args.prompt);
    await task.generate({
      runDir: args.run,
      prompt: args.prompt,
      tokens: args.tokens,
      temperature: args.temperature,
      topK: args['top-k'],
      seed: args.seed,
      checkpoint: args.checkpoint,
      dataRoot: roots.dataRoot,
      cacheDir: roots.cacheDir,
      log: (m) => console.error(m),
      onText: (t) => process.stdout.write(t),
    });
    process.stdout.write('\n');
  },
};
