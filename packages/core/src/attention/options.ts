/**
 * Helpers for the attentions' option schemas. Each attention declares its knobs once, as a
 * zod object with `.default()`s; the layer parses its options with it (`parseOptions`), and
 * the config validates `attention: {type, ...}` against the same object with the defaults
 * taken off (`withoutDefaults`), so a resolved config holds what its files say and nothing more.
 */
import { z } from 'zod';

/** Parses `options` with `schema`, defaults filled in; throws `<who>: <field>: <problem>` naming the first bad field. */
export function parseOptions<S extends z.ZodObject>(schema: S, options: unknown, who: string): z.output<S> {
  const r = schema.safeParse(options);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${who}: ${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`);
  }
  return r.data;
}

/** The same object with every `.default(x)` field made plain optional (descriptions kept). */
export function withoutDefaults(schema: z.ZodObject): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    shape[k] = field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType).optional().describe(field.description ?? '') : field;
  }
  return z.object(shape);
}
