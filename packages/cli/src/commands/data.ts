import type { Argv, CommandModule } from 'yargs';
import type { DataCommandArgs, Task } from '@flowformer/core';
import type { DiscoveredTask } from '../discover.ts';
import { cliDataRoot } from '../paths.ts';

type Action = 'download' | 'generate';

/**
 * `flowformer data <download|generate> --task T ...`. Each task declares what it can do
 * (`task.data.download`, `task.data.generate`) and the extra flags it takes; this command
 * only routes, so the flags and help text come from the task packages.
 */
export function dataCommand(tasks: DiscoveredTask[]): CommandModule {
  const can = (a: Action) => tasks.filter((t) => t.task.data?.[a]).map((t) => t.task);
  const sub = (action: Action, verb: string): CommandModule => ({
    command: action,
    describe: `${verb} a dataset into the data root (tasks: ${can(action).map((t) => t.name).join(', ') || 'none'})`,
    builder: (y: Argv) => {
      let b = y
        .option('task', { type: 'string', demandOption: true, choices: can(action).map((t) => t.name), describe: 'the task whose data to get' })
        .option('dataset', { type: 'string', describe: 'which dataset of the task (see `flowformer list`)' });
      // Tasks may declare the same flag with different meanings and defaults: show every
      // task's description under one flag, and apply each task's own default in the handler.
      const flags = new Map<string, { type: 'string' | 'number' | 'boolean'; lines: string[]; choices: Set<string> | null }>();
      for (const t of can(action)) {
        for (const [name, o] of Object.entries(t.data?.options ?? {})) {
          const f = flags.get(name) ?? { type: o.type, lines: [], choices: o.choices ? new Set<string>() : null };
          const dflt = o.default === undefined ? '' : ` (default ${JSON.stringify(o.default)})`;
          f.lines.push(`[${t.name}] ${o.describe}${dflt}`);
          if (f.choices && o.choices) for (const c of o.choices) f.choices.add(c);
          else f.choices = null;
          flags.set(name, f);
        }
        for (const [cmd, what] of t.data?.[action]?.examples ?? []) b = b.example(cmd, what);
      }
      for (const [name, f] of flags) {
        b = b.option(name, { type: f.type, describe: f.lines.join('; '), choices: f.choices ? [...f.choices] : undefined });
      }
      return b;
    },
    handler: async (args: Record<string, unknown>) => {
      const task = can(action).find((t) => t.name === args.task) as Task;
      const options: DataCommandArgs['options'] = {};
      for (const [name, o] of Object.entries(task.data?.options ?? {})) {
        const v = args[name] ?? o.default;
        if (o.choices && v !== undefined && !o.choices.includes(String(v))) {
          throw new Error(`--${name} ${v}: task '${task.name}' accepts ${o.choices.join(', ')}`);
        }
        options[name] = v as never;
      }
      const dataRoot = cliDataRoot(args['data-root'] as string | undefined);
      await task.data![action]!.run({
        dataRoot,
        dataset: args.dataset as string | undefined,
        options,
        log: (m) => console.error(m),
      });
    },
  });
  return {
    command: 'data <action>',
    describe: 'Download or generate datasets in their original on-disk formats',
    builder: (y) =>
      y
        .command(sub('download', 'Download and unpack'))
        .command(sub('generate', 'Generate (synthetic sets, or recordings from simulators)'))
        .demandCommand(1, 'Say `download` or `generate`.')
        .example('$0 data generate --task lra --dataset listops --size mini', 'a small ListOps set under data/lra/')
        .example('$0 data download --task uea --dataset JapaneseVowels', 'a UEA archive into data/uea/JapaneseVowels/'),
    handler: () => {},
  };
}
