// The device API: enrollment, the signed entitlement (ETag, 304, long-poll)
// and the agent's status report, plus the public JWKS and the key set with
// its rotation chain (shared/schemas/keys.ts).
import Type from 'typebox';
import type { AnyApp } from './app.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { API } from '../../shared/api.ts';
import { ErrorBody } from '../../shared/schemas/common.ts';
import { EnrollRequest, EnrollResponse, EntitlementResponse, Jwks, StatusReport } from '../../shared/schemas/device.ts';
import { KeySet } from '../../shared/schemas/keys.ts';
import { DevlicError } from '../../shared/errors.ts';
import type { LicensingContext } from '../licensing/context.ts';
import { enrollDevice, recordReport } from '../licensing/devices.ts';
import type { EntitlementIssuer } from '../licensing/entitlements.ts';
import type { ServiceKeys } from '../keys.ts';
import type { DeviceAuthenticator } from './device-auth.ts';
import type { Waiters } from './waiters.ts';

export interface DeviceRouteDeps {
  ctx: LicensingContext;
  keys: ServiceKeys;
  issuer: EntitlementIssuer;
  auth: DeviceAuthenticator;
  waiters: Waiters;
  maxWaitSeconds: number;
  enrollPerMinute: number;
  bodyLimit: number;
  /** Told after a report is stored (the admin console's live updates). */
  onReport?: (deviceId: string) => void;
}

export async function deviceRoutes(appIn: AnyApp, deps: DeviceRouteDeps): Promise<void> {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();
  const jwks = deps.keys.jwks;
  const keySet: KeySet = { issuer: deps.keys.issuer, keys: jwks, chain: deps.keys.chain };
  const nowSeconds = () => Math.floor(deps.ctx.now() / 1000);

  app.get(API.jwks, { schema: { tags: ['device'], response: { 200: Jwks } } }, async () => jwks);
  app.get(API.keySet, { schema: { tags: ['device'], response: { 200: KeySet } } }, async () => keySet);

  app.post(API.enroll, {
    bodyLimit: deps.bodyLimit,
    config: { rateLimit: { max: deps.enrollPerMinute, timeWindow: 60_000 } },
    schema: { tags: ['device'], body: EnrollRequest, response: { 201: EnrollResponse, 401: ErrorBody } },
  }, async (req, reply) => {
    const { deviceId, reenrolled } = enrollDevice(deps.ctx, req.body.token, req.body.facts, req.body.publicKey);
    // A re-enrolled device has a new key: tokens signed by the old one must stop working at once.
    deps.auth.forget(deviceId);
    req.log.info({ deviceId, reenrolled, hostname: req.body.facts.hostname }, 'device enrolled');
    reply.code(201);
    return { deviceId, issuer: deps.keys.issuer, audience: 'devlic-agent', keys: jwks, reenrolled };
  });

  app.get(API.entitlement, {
    schema: {
      tags: ['device'], security: [{ device: [] }],
      querystring: Type.Object({ wait: Type.Optional(Type.Integer({ minimum: 0, maximum: deps.maxWaitSeconds })) }, { additionalProperties: false }),
      response: { 200: EntitlementResponse, 304: Type.Null({ description: 'unchanged since If-None-Match (no body)' }) },
    },
  }, async (req, reply) => {
    const deviceId = await deps.auth.authenticate(req.headers.authorization, nowSeconds());
    const inm = req.headers['if-none-match'];
    let seq = deps.issuer.currentSeq(deviceId, nowSeconds());
    if (seq !== null && inm === `"${seq}"` && req.query.wait) {
      let cancel = () => {};
      reply.raw.once('close', () => cancel());
      await deps.waiters.wait(deviceId, req.query.wait * 1000, (c) => { cancel = c; });
      seq = deps.issuer.currentSeq(deviceId, nowSeconds());
    }
    if (seq !== null && inm === `"${seq}"`) {
      // No body at all: a `null` body would add Content-Length and stop clients reusing the connection.
      return reply.header('ETag', `"${seq}"`).code(304).send(undefined as unknown as null);
    }
    const cur = await deps.issuer.current(deviceId, nowSeconds());
    if (!cur) throw new DevlicError('UNAUTHENTICATED', 'unknown device; enroll it again');
    reply.header('ETag', `"${cur.seq}"`).header('Cache-Control', 'no-store');
    return cur;
  });

  app.post(API.status, {
    bodyLimit: deps.bodyLimit,
    schema: { tags: ['device'], security: [{ device: [] }], body: StatusReport },
  }, async (req, reply) => {
    const deviceId = await deps.auth.authenticate(req.headers.authorization, nowSeconds());
    recordReport(deps.ctx, deviceId, req.body);
    deps.onReport?.(deviceId);
    reply.code(204);
    return reply.send();
  });
}
