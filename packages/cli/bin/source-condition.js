// A module resolution hook that adds the "source" export condition, so that our workspace
// packages resolve to their TypeScript sources (src/) rather than to their build (dist/): the
// command always runs the code as it is in the tree, never a stale build. Same effect as
// `node --conditions=source`, without a second process to pass the flag to.
export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes('source') ? context.conditions : ['source', ...context.conditions];
  return nextResolve(specifier, { ...context, conditions });
}
