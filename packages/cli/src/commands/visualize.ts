import fs from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { parse } from 'yaml';
import { getTask, initBackend } from '@flowformer/core';
import type { DiscoveredTask } from '../discover.ts';
import { declareTaskOptions, taskOptionValues } from '../task-options.ts';
import { runRoots } from './train.ts';

interface VisualizeCliArgs {
  run: string;
  image: string;
  out: string;
  checkpoint?: 'best' | 'last';
  backend?: string;
  'data-root'?: string;
  [taskFlag: string]: unknown;
}

/** Flags of the command itself (and the global ones): a task cannot redefine them. */
const OWN_FLAGS = ['run', 'image', 'out', 'checkpoint', 'backend', 'data-root', 'help', 'version'] as const;

/**
 * `flowformer visualize --run RUN_DIR --image FILE --out FILE.png`: the task of the run (its
 * config.yaml's `task:`) draws what the trained model attends to. Only routing lives here;
 * the drawing and the task's extra flags come from `Task.visualize` / `Task.visualizeOptions`.
 */
export function visualizeCommand(tasks: DiscoveredTask[]): CommandModule<object, VisualizeCliArgs> {
  const can = tasks.filter((t) => t.task.visualize).map((t) => t.task);
  const names = can.map((t) => t.name).join(', ') || 'none installed';
  return {
    command: 'visualize',
    describe: `Draw a trained model's attention on one input as a PNG (Figure 2's flow maps; tasks: ${names})`,
    builder: (y) =>
      declareTaskOptions(
        y
          .option('run', { type: 'string', demandOption: true, describe: 'a run folder (results/runs/<task>/<config>/<run-id>); its config.yaml says the task' })
          .option('image', { type: 'string', demandOption: true, describe: 'the input to draw for (an image file for imagenet)' })
          .option('out', { type: 'string', demandOption: true, describe: 'the PNG to write (its folder is created)' })
          .option('checkpoint', { choices: ['best', 'last'] as const, describe: "which checkpoint of the run (default: 'best', else 'last')" })
          .example('$0 visualize --run results/runs/imagenet/cifar10-flowformer/<id> --image ../shared/data/cifar10/test/cat/0000.jpg --out maps.png', 'flow into the centre token and source competition, per head, last block of stage 0')
          .example('$0 visualize --run <run> --image cat.jpg --out maps.png --query 2,5 --stage 1 --block 0', 'another query cell, stage and block')
          .example('$0 visualize --run results/runs/imagenet/imagenet-1k-deit-s-flow/<id> --image x.JPEG --out cls.png --query cls', "DeiT: what the class token gathers")
          .epilogue(
            'The PNG has one column per head after the image: row 1 is the flow each token sends to the query (the marked cell), ' +
              'row 2 the source competition (which tokens win among the sources). Softmax runs show the attention weights instead.',
          ) as never,
        can.map((t) => ({ task: t.name, options: t.visualizeOptions })),
        OWN_FLAGS,
      ) as never,
    handler: async (args) => {
      const configPath = path.join(args.run, 'config.yaml');
      if (!fs.existsSync(configPath)) throw new Error(`${args.run}: no config.yaml; pass a run folder (results/runs/<task>/<config>/<run-id>)`);
      const taskName = (parse(fs.readFileSync(configPath, 'utf8')) as { task?: string } | null)?.task;
      if (!taskName) throw new Error(`${configPath}: no 'task:' field; is this a run folder written by 'flowformer train'?`);
      const task = getTask(taskName);
      if (!task.visualize) {
        throw new Error(`task '${task.name}' (from ${configPath}) has no visualize hook; tasks that visualize: ${names}`);
      }
      if (!fs.existsSync(args.image)) throw new Error(`--image ${args.image}: no such file`);
      const options = taskOptionValues(task.name, task.visualizeOptions, args);
      fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
      await initBackend(args.backend as never);
      const roots = runRoots(args);
      const r = await task.visualize({
        runDir: args.run,
        image: args.image,
        out: args.out,
        checkpoint: args.checkpoint,
        options,
        dataRoot: roots.dataRoot ?? roots.defaultDataRoot,
        cacheDir: roots.cacheDir,
        log: (m) => console.error(m),
      });
      if (r.summary) console.log(r.summary);
      for (const f of r.files) console.log(`wrote ${f}`);
    },
  };
}
