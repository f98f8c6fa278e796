// The entitlement route's querystring validator: the agents' two shapes (no
// query, or `wait` alone as plain digits within the limit) are taken without
// TypeBox's convert-and-check walk, which was about 5 % of the event loop per
// request in a wake of thousands of long-polls (bench/wake-cost.ts); anything
// else goes to the TypeBox validator the rest of the service uses, so refusals
// and their messages are exactly as before. The limit comes from the route's
// own schema, and the quick path is only put in front of a schema of exactly
// the shape it understands: the schema stays the one statement of the rule.
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifySchemaCompiler } from 'fastify';
import Type from 'typebox';

/** The entitlement route's querystring: an optional `wait` in whole seconds, nothing else. */
export function waitQuerySchema(maxWaitSeconds: number) {
  return Type.Object({ wait: Type.Optional(Type.Integer({ minimum: 0, maximum: maxWaitSeconds })) }, { additionalProperties: false });
}

type Validate = (value: unknown) => { value?: unknown; error?: unknown } | boolean;

/** What a validator given `query` answers for the common shapes: the value to use, or undefined for "ask TypeBox". */
export function quickWaitQuery(query: unknown, maxWaitSeconds: number): Record<string, unknown> | undefined {
  if (query === null || typeof query !== 'object') return undefined;
  let keys = 0;
  for (const k in query) {
    if (k !== 'wait') return undefined;
    keys++;
  }
  if (keys === 0) return query as Record<string, unknown>;
  const raw = (query as { wait: unknown }).wait;
  // Leading zeros and the like are left to TypeBox: only the plain form is taken here.
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 6 || (raw.length > 1 && raw[0] === '0') || !/^[0-9]+$/.test(raw)) return undefined;
  const wait = Number(raw);
  return wait <= maxWaitSeconds ? { wait } : undefined;
}

/**
 * The `wait` maximum of a querystring schema `{ wait?: integer from 0 to max }`
 * that allows nothing else, or undefined for any other schema (which then gets TypeBox alone).
 */
export function waitMaximum(schema: unknown): number | undefined {
  const s = schema as { type?: unknown; additionalProperties?: unknown; required?: unknown; properties?: Record<string, unknown> } | null;
  if (s === null || typeof s !== 'object' || s.type !== 'object' || s.additionalProperties !== false || s.required !== undefined) return undefined;
  const props = s.properties;
  if (props === undefined || Object.keys(props).length !== 1) return undefined;
  const wait = props.wait as { type?: unknown; minimum?: unknown; maximum?: unknown } | undefined;
  if (wait === undefined || wait.type !== 'integer' || wait.minimum !== 0 || typeof wait.maximum !== 'number' || !Number.isInteger(wait.maximum)) return undefined;
  // Any other keyword (exclusiveMaximum, multipleOf, ...) is a rule the quick path does not know.
  if (Object.keys(wait).some((k) => !['type', 'minimum', 'maximum', 'description', 'title'].includes(k))) return undefined;
  return wait.maximum;
}

/** A validator compiler for the entitlement route: the quick path for its querystring, TypeBox for the rest. */
export function waitQueryCompiler(): FastifySchemaCompiler<unknown> {
  return (route) => {
    const full = TypeBoxValidatorCompiler(route as never) as Validate;
    const maxWaitSeconds = route.httpPart === 'querystring' ? waitMaximum(route.schema) : undefined;
    if (maxWaitSeconds === undefined) return full as never;
    return ((value: unknown) => {
      const quick = quickWaitQuery(value, maxWaitSeconds);
      return quick === undefined ? full(value) : { value: quick };
    }) as never;
  };
}
