// The entitlement route's quick querystring path (service/http/wait-query.ts)
// against the TypeBox validator it stands in front of: wherever the quick path
// answers, TypeBox must accept the same query with the same value; every other
// query must reach TypeBox (and be refused or converted by it as before).
import { expect, it } from 'vitest';
import Type from 'typebox';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import { quickWaitQuery, waitQueryCompiler } from '../../service/http/wait-query.ts';

const MAX = 300;
const schema = Type.Object({ wait: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX })) }, { additionalProperties: false });
const route = { schema, httpPart: 'querystring', method: 'GET', url: '/v1/device/entitlement' };
const typebox = TypeBoxValidatorCompiler(route as never) as (v: unknown) => { value?: unknown; error?: unknown };
const compiled = waitQueryCompiler(MAX)(route as never) as (v: unknown) => { value?: unknown; error?: unknown };
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
  const body = waitQueryCompiler(MAX)({ ...route, httpPart: 'body' } as never) as (v: unknown) => { value?: unknown; error?: unknown };
  expect(body({ wait: '5' }).error).toBeDefined(); // a string is not an integer in a body: no conversion there
});
