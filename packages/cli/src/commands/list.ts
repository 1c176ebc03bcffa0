import type { CommandModule } from 'yargs';
import path from 'node:path';
import { formatAttentionList, listConfigFiles } from '@flowformer/core';
import { discoverTasks } from '../discover.ts';
import { repoRoot } from '../paths.ts';

export const listCommand: CommandModule<object, { what?: string }> = {
  command: 'list [what]',
  describe: 'List the registered tasks with their datasets and shipped configs (or: list attentions)',
  builder: (y) =>
    y
      .positional('what', { choices: ['tasks', 'attentions'], default: 'tasks', describe: 'what to list' })
      .example('$0 list', 'tasks, datasets and configs')
      .example('$0 list attentions', 'the attention types a config can select') as never,
  handler: async (args) => {
    if (args.what === 'attentions') {
      process.stdout.write(formatAttentionList());
      return;
    }
    const tasks = await discoverTasks();
    if (tasks.length === 0) {
      console.log('No task packages found. A task package declares "flowformer": {"task": "./src/task.ts"} in its package.json.');
      return;
    }
    for (const { task, packageName } of tasks) {
      console.log(`${task.name}  (${packageName})  ${task.description}`);
      for (const d of task.datasets) console.log(`  dataset ${d.name.padEnd(22)} ${d.description}`);
      for (const f of listConfigFiles(path.join(repoRoot(), 'configs'), task.name)) {
        console.log(`  config  ${path.relative(repoRoot(), f.path)}`);
      }
    }
  },
};
