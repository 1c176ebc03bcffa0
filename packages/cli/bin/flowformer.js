#!/usr/bin/env node
// The `flowformer` command. Our packages are TypeScript run directly (no build step), so the
// bin registers tsx's ESM loader and then imports the real entry point.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
await main(process.argv.slice(2));
