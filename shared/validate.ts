// Runtime validation against the shared schemas, with messages that name the
// offending field. Compiled validators are cached per schema object.
import type { TSchema, Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { DevlicError } from './errors.ts';

const cache = new WeakMap<TSchema, ReturnType<typeof Compile>>();

function compiled(schema: TSchema) {
  let c = cache.get(schema);
  if (!c) {
    c = Compile(schema);
    cache.set(schema, c);
  }
  return c;
}

/** Returns the value typed by the schema, or throws VALIDATION_FAILED naming what is wrong. */
export function validate<T extends TSchema>(schema: T, value: unknown, what: string): Static<T> {
  const c = compiled(schema);
  if (c.Check(value)) return value as Static<T>;
  const errors = [...c.Errors(value)].slice(0, 3).map((e) => {
    const at = (e as { instancePath?: string }).instancePath || '(root)';
    return `${at}: ${e.message}`;
  });
  throw new DevlicError('VALIDATION_FAILED', `${what} is invalid: ${errors.join('; ')}`);
}

export function isValid<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  return compiled(schema).Check(value);
}
