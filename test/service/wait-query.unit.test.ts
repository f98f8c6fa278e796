// The entitlement route's quick querystring path (service/http/wait-query.ts)
// against the TypeBox validator it stands in front of: wherever the quick path
// answers, TypeBox must accept the same query with the same value; every other
// query must reach TypeBox (and be refused or converted by it as before).
import { expect, it } from 'vitest';
import Type from 'typebox';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import { quickWaitQuery, waitMaximum, waitQueryCompiler, waitQuerySchema } from '../../service/http/wait-query.ts';

const MAX = 300;
// The route's own schema, so that a change to it that the quick path does not understand fails here.
const schema = waitQuerySchema(MAX);
const route = { schema, httpPart: 'querystring', method: 'GET', url: '/v1/device/entitlement' };
const typebox = TypeBoxValidatorCompiler(route as never) as (v: unknown) => { value?: unknown; error?: unknown };
const compiled = waitQueryCompiler()(route as never) as (v: unknown) => { value?: unknown; error?: unknown };
const q = (o: Record<string, unknown>) => Object.assign(Object.create(null), o);

it('answers only where TypeBox accepts, with the value TypeBox gives', () => {
  const accepted = [{}, { wait: '0' }, { wait: '1' }, { wait: '55' }, { wait: String(MAX) }];
  for (const o of accepted) {
    const quick = quickWaitQuery(q(o), MAX);
    expect(quick, JSON.stringify(o)).toBeDefined();
    const t = typebox(q(o));
    expect(t.error, JSON.stringify(o)).toBeUndefined();
    expect({ ...(quick as object) }).toEqual({ ...(t.value as object) });
    expect({ ...(compiled(q(o)).value as object) }).toEqual({ ...(t.value as object) });
  }
  expect(quickWaitQuery(q({ wait: '55' }), MAX)).toEqual({ wait: 55 });
});

it('leaves everything else to TypeBox: refusals stay TypeBox refusals', () => {
  const others = [{ wait: String(MAX + 1) }, { wait: '999999' }, { wait: '1000000' }, { wait: '' }, { wait: '-1' }, { wait: '1.5' }, { wait: ' 7' },
    { wait: '1e2' }, { wait: '007' }, { wait: ['1', '2'] }, { wait: '5', extra: 'x' }, { other: '1' }];
  for (const o of others) {
    expect(quickWaitQuery(q(o), MAX), JSON.stringify(o)).toBeUndefined();
    const t = typebox(q(o));
    const c = compiled(q(o));
    expect(c.error === undefined, JSON.stringify(o)).toBe(t.error === undefined);
    if (t.error === undefined) expect({ ...(c.value as object) }).toEqual({ ...(t.value as object) });
  }
  expect(typebox(q({ wait: String(MAX + 1) })).error).toBeDefined();
  expect(typebox(q({ wait: '5', extra: 'x' })).error).toBeDefined();
});

it('does not touch other parts of the request', () => {
  const body = waitQueryCompiler()({ ...route, httpPart: 'body' } as never) as (v: unknown) => { value?: unknown; error?: unknown };
  expect(body({ wait: '5' }).error).toBeDefined(); // a string is not an integer in a body: no conversion there
});

it('takes the limit from the route\'s schema, and stands aside for a schema of any other shape', () => {
  expect(waitMaximum(schema)).toBe(MAX);
  expect(waitMaximum(Type.Object({ wait: Type.Optional(Type.Integer({ minimum: 0, maximum: 60, description: 'seconds' })) }, { additionalProperties: false }))).toBe(60);
  const others = [
    Type.Object({ wait: Type.Integer({ minimum: 0, maximum: MAX }) }, { additionalProperties: false }), // required
    Type.Object({ wait: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX })) }), // extra keys allowed
    Type.Object({ wait: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX })), since: Type.Optional(Type.String()) }, { additionalProperties: false }),
    Type.Object({ wait: Type.Optional(Type.Integer({ minimum: 10, maximum: MAX })) }, { additionalProperties: false }),
    Type.Object({ wait: Type.Optional(Type.Integer({ minimum: 0, exclusiveMaximum: MAX })) }, { additionalProperties: false }),
    Type.Object({ wait: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX, multipleOf: 5 })) }, { additionalProperties: false }),
    Type.Object({ wait: Type.Optional(Type.Number({ minimum: 0, maximum: MAX })) }, { additionalProperties: false }),
    Type.Object({ wait: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }),
  ];
  for (const other of others) {
    expect(waitMaximum(other), JSON.stringify(other)).toBeUndefined();
    // Each of these refuses or converts ?wait=7 or ?wait=5 differently from the quick path's rule: TypeBox alone decides.
    const own = TypeBoxValidatorCompiler({ ...route, schema: other } as never) as (v: unknown) => { value?: unknown; error?: unknown };
    const c = waitQueryCompiler()({ ...route, schema: other } as never) as (v: unknown) => { value?: unknown; error?: unknown };
    for (const o of [{}, { wait: '5' }, { wait: '7' }, { wait: String(MAX) }]) {
      expect(c(q(o)).error === undefined, `${JSON.stringify(other)} ${JSON.stringify(o)}`).toBe(own(q(o)).error === undefined);
    }
  }
  // The minimum-10 schema refuses ?wait=5, which the quick path alone would take.
  const min10 = waitQueryCompiler()({ ...route, schema: others[3] } as never) as (v: unknown) => { value?: unknown; error?: unknown };
  expect(min10(q({ wait: '5' })).error).toBeDefined();
});
