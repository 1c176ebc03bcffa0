/** The lra tests' helpers: the ones every package's tests share (@flowformer/core/testing), scratch folders prefixed 'lra-test-'. */
import { tempDir as coreTempDir } from '@flowformer/core/testing';

export { repoRoot, shared } from '@flowformer/core/testing';

/** A fresh temporary folder; call the returned cleanup in afterAll. */
export const tempDir = (prefix = 'lra-test-') => coreTempDir(prefix);
