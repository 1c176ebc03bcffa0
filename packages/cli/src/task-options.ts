/**
 * Flags that task packages add to a command (`TaskOption` in core's task.ts): declared on the
 * yargs builder for every task that offers the command, handed back to the chosen task with
 * its own defaults. The command itself names no task-specific flag.
 */
import type { Argv } from 'yargs';
import type { TaskOption, TaskOptionValues } from '@flowformer/core';

/**
 * Declares the union of the tasks' flags on `y`. Tasks may declare the same flag with different
 * meanings and defaults: `--help` shows every task's description under one flag, and the
 * defaults are applied per task by `taskOptionValues`, not by yargs. A flag the command
 * already owns (`reserved`) cannot be redefined by a task: it is skipped with a warning.
 */
export function declareTaskOptions<T>(y: Argv<T>, perTask: { task: string; options?: Record<string, TaskOption> }[], reserved: readonly string[]): Argv<T> {
  const flags = new Map<string, { type: TaskOption['type']; lines: string[]; choices: Set<string> | null }>();
  for (const { task, options } of perTask) {
    for (const [name, o] of Object.entries(options ?? {})) {
      if (reserved.includes(name)) {
        console.error(`warning: task '${task}' declares --${name}, which the command itself owns; the task's flag is ignored`);
        continue;
      }
      const f = flags.get(name) ?? { type: o.type, lines: [], choices: o.choices ? new Set<string>() : null };
      const dflt = o.default === undefined ? '' : ` (default ${JSON.stringify(o.default)})`;
      f.lines.push(perTask.length > 1 ? `[${task}] ${o.describe}${dflt}` : `${o.describe}${dflt}`);
      if (f.choices && o.choices) for (const c of o.choices) f.choices.add(c);
      else f.choices = null;
      flags.set(name, f);
    }
  }
  let b = y;
  for (const [name, f] of flags) b = b.option(name, { type: f.type, describe: f.lines.join('; '), choices: f.choices ? [...f.choices] : undefined });
  return b;
}

/** The values of `task`'s own flags from the parsed arguments, its defaults filled in and its choices checked. */
export function taskOptionValues(task: string, options: Record<string, TaskOption> | undefined, args: Record<string, unknown>): TaskOptionValues {
  const out: TaskOptionValues = {};
  for (const [name, o] of Object.entries(options ?? {})) {
    const v = args[name] ?? o.default;
    if (o.choices && v !== undefined && !o.choices.includes(String(v))) throw new Error(`--${name} ${v}: task '${task}' accepts ${o.choices.join(', ')}`);
    if (o.type === 'number' && typeof v === 'number' && Number.isNaN(v)) throw new Error(`--${name}: task '${task}' expects a number`);
    out[name] = v as TaskOptionValues[string];
  }
  return out;
}
