// The entitlement route's querystring validator: the agents' two shapes (no
// query, or `wait` alone as plain digits within the limit) are taken without
// TypeBox's convert-and-check walk, which was about 5 % of the event loop per
// request in a wake of thousands of long-polls (bench/wake-cost.ts); anything
// else goes to the TypeBox validator the rest of the service uses, so refusals
// and their messages are exactly as before.
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifySchemaCompiler } from 'fastify';

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

/** A validator compiler for the entitlement route: the quick path for its querystring, TypeBox for the rest. */
export function waitQueryCompiler(maxWaitSeconds: number): FastifySchemaCompiler<unknown> {
  return (route) => {
    const full = TypeBoxValidatorCompiler(route as never) as Validate;
    if (route.httpPart !== 'querystring') return full as never;
    return ((value: unknown) => {
      const quick = quickWaitQuery(value, maxWaitSeconds);
      return quick === undefined ? full(value) : { value: quick };
    }) as never;
  };
}
