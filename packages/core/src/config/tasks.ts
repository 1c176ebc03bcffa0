/**
 * The registry of tasks, by name.
 *
 * It sits on the config floor because resolving a config's `task:` is the first thing that
 * needs it (config/load.ts). It holds the task objects that task.ts's `registerTask` puts in
 * (whole `Task`s), and each floor reads through its own typed view: the loader the schema
 * (`ConfigTask`), the trainer the trainable contract (train/task-contract.ts), the tables their
 * specs (results/table-spec.ts), the CLI the full `Task` (task.ts). Only task.ts writes to it,
 * so a view never sees an object without the fields its type promises.
 */
import type { ConfigTask } from './schema.ts';

const registry = new Map<string, ConfigTask>();

/** Adds (or replaces) a task under its name. Called by task.ts's `registerTask` only. */
export function addTask(task: ConfigTask): void {
  registry.set(task.name, task);
}

/** The task named `name`, or undefined. `T` is the caller's view of it (see the file comment). */
export function findTask<T extends ConfigTask = ConfigTask>(name: string): T | undefined {
  return registry.get(name) as T | undefined;
}

/** The task named `name`; an unknown name is an error listing the registered ones. */
export function requireTask<T extends ConfigTask = ConfigTask>(name: string): T {
  const t = findTask<T>(name);
  if (!t) throw new Error(`unknown task '${name}'. Known tasks: ${taskNames().join(', ') || '(none registered)'}. Run 'flowformer list' to see them.`);
  return t;
}

/** Every registered task, sorted by name. */
export function registeredTasks<T extends ConfigTask = ConfigTask>(): T[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name)) as T[];
}

/** The registered tasks' names, sorted. */
export function taskNames(): string[] {
  return registeredTasks().map((t) => t.name);
}
