/**
 * Core layers that `@flowformer/core`'s index does not export yet (as of this package's
 * writing): imported from the core's source files directly. When the core's index exports
 * them, replace this file's body with `export { ... } from '@flowformer/core'`; nothing else
 * in this package changes.
 */
export { DecoderBlock } from '../../core/src/nn/blocks.ts';
export { LayerNorm } from '../../core/src/nn/layer-norm.ts';
export { Embedding } from '../../core/src/nn/embedding.ts';
export { dropout } from '../../core/src/nn/dropout.ts';
export { maskedMse } from '../../core/src/train/loss.ts';
export { attentionFactory } from '../../core/src/attention/registry.ts';
export type { AttentionConfig, Config, TaskSchemas } from '../../core/src/config/schema.ts';
