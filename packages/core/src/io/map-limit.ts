/**
 * A bounded async map for I/O-bound work (reading and decoding image files, writing generated
 * ones): unbounded `Promise.all` over tens of thousands of files would open them all at once.
 */

/**
 * `fn` over `items` with at most `limit` calls in flight; results in input order. A `limit`
 * below 1 still runs one call at a time (never none, which would leave the results empty).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
