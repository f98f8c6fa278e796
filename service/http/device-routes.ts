// The device API: enrollment, the signed entitlement (ETag, 304, long-poll)
// and the agent's status report, plus the public JWKS and the key set with
// its rotation chain (shared/schemas/keys.ts).
import Type from 'typebox';
import type { AnyApp } from './app.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { API } from '../../shared/api.ts';
import { ErrorBody } from '../../shared/schemas/common.ts';
import { knownFields } from '../../shared/known-fields.ts';
import { EnrollRequest, EnrollResponse, EntitlementResponse, Jwks, StatusReport } from '../../shared/schemas/device.ts';
import { KeySet } from '../../shared/schemas/keys.ts';
import { DevlicError } from '../../shared/errors.ts';
import type { LicensingContext } from '../licensing/context.ts';
import { enrollDevice, recordReport } from '../licensing/devices.ts';
import type { EntitlementIssuer, Issued } from '../licensing/entitlements.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceKeys } from '../keys.ts';
import type { DeviceAuthenticator } from './device-auth.ts';
import type { Waiters } from './waiters.ts';
import { longPollSocketTimeoutMs } from './connection-limits.ts';
import { waitQueryCompiler, waitQuerySchema } from './wait-query.ts';
import { canWriteRaw, writeRaw } from './raw-answer.ts';

/** Told to a long-poll refused because the service holds as many as it may. */
const BUSY_RETRY_AFTER_SECONDS = 15;
const JSON_TYPE = 'application/json; charset=utf-8';

/** A held wait's raw answer headers: `connection: close` first when a newer wait replaced it, as Fastify orders them. */
function heldHeaders(held: { close: boolean }, headers: Record<string, string>): Record<string, string> {
  return held.close ? { connection: 'close', ...headers } : headers;
}

export interface DeviceRouteDeps {
  ctx: LicensingContext;
  keys: ServiceKeys;
  issuer: EntitlementIssuer;
  auth: DeviceAuthenticator;
  waiters: Waiters;
  maxWaitSeconds: number;
  enrollPerMinute: number;
  bodyLimit: number;
  /** The server's socket idle timeout: a held long-poll raises its own socket's past the wait. */
  idleTimeoutMs: number;
  /** Told after a report is stored (the admin console's live updates). */
  onReport?: (deviceId: string) => void;
  /** false: a held long-poll's answer goes through Fastify's send like every other (the byte comparison test, the bench). */
  rawAnswers?: boolean;
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
    const { deviceId, reenrolled, duplicateOf } = await enrollDevice(deps.ctx, knownFields(EnrollRequest, req.body));
    req.log.info({ deviceId, reenrolled, duplicateOf, hostname: req.body.facts.hostname }, 'device enrolled');
    reply.code(201);
    return { deviceId, issuer: deps.keys.issuer, audience: 'devlic-agent', keys: jwks, reenrolled, duplicateOf };
  });

  app.get(API.entitlement, {
    // Before validation, which would coerce '1.5', '1e2' or ' 7' to a number: `wait` is plain digits or refused.
    // (A callback hook, not async: this is the 304 path, and an async hook costs a promise per poll.)
    preValidation: (req, _reply, done) => {
      const raw = (req.query as Record<string, unknown>).wait;
      if (raw !== undefined && (typeof raw !== 'string' || !/^[0-9]{1,6}$/.test(raw))) {
        done(new DevlicError('VALIDATION_FAILED', `invalid querystring: wait must be a whole number of seconds from 0 to ${deps.maxWaitSeconds}`));
        return;
      }
      done();
    },
    // The agents' plain `?wait=N` (or none) without TypeBox's walk; anything else is validated by TypeBox as everywhere.
    validatorCompiler: waitQueryCompiler(),
    schema: {
      tags: ['device'], security: [{ device: [] }],
      querystring: waitQuerySchema(deps.maxWaitSeconds),
      response: { 200: EntitlementResponse, 304: Type.Null({ description: 'unchanged since If-None-Match (no body)' }) },
    },
  }, (req, reply) => {
    // The steady state, "still seq N?" with a token verified before and a seq
    // known: answered 304 at once, without a promise or a read. Anything else
    // (a new token, a seq not cached, a long-poll) takes the full path below.
    if (!req.query.wait) {
      const inm = req.headers['if-none-match'];
      if (inm !== undefined) {
        const now = nowSeconds();
        const deviceId = deps.auth.cachedDevice(req.headers.authorization, now);
        const seq = deviceId === undefined ? undefined : deps.issuer.cachedSeq(deviceId, now);
        if (typeof seq === 'number' && inm === `"${seq}"`) {
          reply.header('ETag', inm).code(304).send(undefined as unknown as null);
          return;
        }
      }
    }
    return entitlement(req, reply);
  });

  /** The full path: authentication (a token not seen before), a read, a long-poll, a token to sign. */
  async function entitlement(req: FastifyRequest<{ Querystring: { wait?: number } }>, reply: FastifyReply): Promise<undefined> {
    const startedAt = nowSeconds();
    // A re-armed long-poll (the device just had its answer) has its token and seq cached: no promise for either.
    const deviceId = deps.auth.cachedDevice(req.headers.authorization, startedAt) ?? await deps.auth.authenticate(req.headers.authorization, startedAt);
    const inm = req.headers['if-none-match'];
    let seq = deps.issuer.cachedSeq(deviceId, startedAt);
    if (seq === undefined) seq = await deps.issuer.currentSeq(deviceId, nowSeconds());
    /** The token, once read: after a wake by a change, read with the row instead of a second read for the seq. */
    let cur: Issued | null | undefined;
    /** Set once a wait was held: its answer is written raw (raw-answer.ts); `close` when a newer wait replaced it. */
    let held: { close: boolean } | undefined;
    if (seq !== null && inm === `"${seq}"` && req.query.wait) {
      const waitMs = req.query.wait * 1000;
      let cancel = () => {};
      const waiting = deps.waiters.wait(deviceId, waitMs, (c) => { cancel = c; });
      if (waiting === null) {
        // Full: answer now, and close, so that a flood's sockets do not stay open either.
        reply.header('Retry-After', String(BUSY_RETRY_AFTER_SECONDS)).header('Connection', 'close');
      } else {
        // A response closes once: no once() wrapper, and cancel itself as the listener (a no-op once the wait ended).
        reply.raw.on('close', cancel);
        req.raw.socket?.setTimeout(longPollSocketTimeoutMs(waitMs, deps.idleTimeoutMs));
        const end = await waiting;
        // A newer wait of the same device took this one's place: this connection is most likely a dead one.
        held = { close: end === 'replaced' };
        const now = nowSeconds();
        const known = deps.issuer.cachedSeq(deviceId, now);
        // Woken by a change, the seq is no longer cached: read the row once
        // (current() signs only when its stored token cannot be served, as
        // currentSeq would have said) and answer 304 if its seq is still the one held.
        if (known === undefined) {
          cur = await deps.issuer.current(deviceId, now);
          seq = cur ? cur.seq : null;
        } else {
          seq = known;
        }
      }
    }
    const raw = held !== undefined && deps.rawAnswers !== false && canWriteRaw(req);
    // On the reply too: an error answered after the wait (the device merged away meanwhile) closes as before.
    if (held?.close) reply.header('Connection', 'close');
    if (seq !== null && inm === `"${seq}"`) {
      // No body at all: a `null` body would add Content-Length and stop clients reusing the connection.
      if (raw) writeRaw(reply, 304, heldHeaders(held!, { etag: `"${seq}"` }));
      else reply.header('ETag', `"${seq}"`).code(304).send(undefined as unknown as null);
      return undefined;
    }
    if (cur === undefined) cur = await deps.issuer.current(deviceId, nowSeconds());
    if (!cur) {
      // Gone while the request waited (merged into another id): say so as a fresh request would (DEVICE_MERGED).
      await deps.auth.authenticate(req.headers.authorization, startedAt);
      throw new DevlicError('UNAUTHENTICATED', 'unknown device; enroll it again');
    }
    // The body written as EntitlementResponse's serializer writes it ({"token":…,"seq":…}, a string
    // with a JSON content type skips the serializer): a wake of thousands of devices answers each without a schema walk.
    const body = `{"token":${JSON.stringify(cur.token)},"seq":${cur.seq}}`;
    if (raw) {
      writeRaw(reply, 200, heldHeaders(held!, { etag: `"${cur.seq}"`, 'cache-control': 'no-store', 'content-type': JSON_TYPE }), body);
      return undefined;
    }
    reply.header('ETag', `"${cur.seq}"`).header('Cache-Control', 'no-store').header('Content-Type', JSON_TYPE).send(body);
    return undefined;
  }

  app.post(API.status, {
    bodyLimit: deps.bodyLimit,
    schema: { tags: ['device'], security: [{ device: [] }], body: StatusReport },
  }, async (req, reply) => {
    const deviceId = await deps.auth.authenticate(req.headers.authorization, nowSeconds());
    await recordReport(deps.ctx, deviceId, knownFields(StatusReport, req.body));
    deps.onReport?.(deviceId);
    reply.code(204);
    return reply.send();
  });
}
