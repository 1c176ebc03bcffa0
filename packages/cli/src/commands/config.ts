import type { CommandModule } from 'yargs';
import { loadConfig, formatConfig } from '@flowformer/core';

interface ShowArgs {
  config: string;
  set?: string[];
}

const showCommand: CommandModule<object, ShowArgs> = {
  command: 'show <config>',
  describe: 'Print a config resolved (extends merged, --set applied, defaults filled) after validating it',
  builder: (y) =>
    y
      .positional('config', { type: 'string', demandOption: true, describe: 'a YAML config file' })
      .option('set', { type: 'string', array: true, describe: 'override a value, as for train' })
      .example('$0 config show configs/uea/JapaneseVowels/flowformer.yaml', 'the full recipe')
      .example('$0 config show configs/lra/listops/mini.yaml --set optimizer.lr=1e-3', 'with an override') as never,
  handler: (args) => {
    process.stdout.write(formatConfig(loadConfig(args.config, { sets: args.set })));
  },
};

export const configCommand: CommandModule = {
  command: 'config <action>',
  describe: 'Inspect configs',
  builder: (y) => y.command(showCommand).demandCommand(1, 'Say `show`.'),
  handler: () => {},
};
