/**
 * @flowformer/cli as a library: run the `flowformer` command in-process (`main(argv)`) and find
 * the installed task packages (`discoverTasks`). The bin in bin/flowformer.js is the usual way in.
 */
export { main, withGlobalOptions, BACKENDS } from './main.ts';
export { discoverTasks, listTasks, type DiscoveredTask } from './discover.ts';
