// The device API's per-user part (issue 16): POST /v1/device/user-entitlement.
// A device (its usual signed request token) asks for the licence of a person
// signed in on it; the answer is a user entitlement token (shared/user-token.ts).
//
// Propagation: the agent sends the seq it holds and `wait`; when that is
// still the person's seq the request is held on a waiter keyed by the
// person's normalised sign-in name, woken after commit by the
// 'user-entitlement' change (every replica: PostgreSQL NOTIFY), exactly as
// device long-polls are. Held per person, not per device: one person may be
// signed in on several devices at once (up to WAITS_PER_PERSON held). The
// asked name is resolved through the sign-in domain aliases first
// (shared/sign-in-domains.ts): the wait is keyed by the person, and a change
// of an alias wakes every wait in its domains (server.ts).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AnyApp } from './app.ts';
import { API } from '../../shared/api.ts';
import { ErrorBody } from '../../shared/schemas/common.ts';
import { UserEntitlementRequest, UserEntitlementResponse } from '../../shared/schemas/user.ts';
import { normaliseSignInName } from '../../shared/sign-in.ts';
import { DevlicError } from '../../shared/errors.ts';
import type { LicensingContext } from '../licensing/context.ts';
import type { UserEntitlementIssuer } from '../licensing/user-entitlements.ts';
import type { DeviceAuthenticator } from './device-auth.ts';
import type { Waiters } from './waiters.ts';
import { longPollSocketTimeoutMs } from './connection-limits.ts';

export const WAITS_PER_PERSON = 32;

export interface UserDeviceRouteDeps {
  ctx: LicensingContext;
  issuer: UserEntitlementIssuer;
  auth: DeviceAuthenticator;
  /** Keyed by normalised sign-in name. */
  waiters: Waiters;
  maxWaitSeconds: number;
  bodyLimit: number;
  idleTimeoutMs: number;
}

export async function userDeviceRoutes(appIn: AnyApp, deps: UserDeviceRouteDeps): Promise<void> {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();
  const nowSeconds = () => Math.floor(deps.ctx.now() / 1000);

  app.post(API.userEntitlement, {
    bodyLimit: deps.bodyLimit,
    schema: { tags: ['device'], security: [{ device: [] }], body: UserEntitlementRequest, response: { 200: UserEntitlementResponse, 400: ErrorBody } },
  }, async (req, reply) => {
    const deviceId = await deps.auth.authenticate(req.headers.authorization, nowSeconds());
    const asked = normaliseSignInName(req.body.user);
    const wait = req.body.wait ?? 0;
    if (wait > deps.maxWaitSeconds) throw new DevlicError('VALIDATION_FAILED', `wait must be at most ${deps.maxWaitSeconds} seconds`);
    let domains = await deps.issuer.domains();
    if (wait > 0 && req.body.seq !== undefined && req.body.seq === await deps.issuer.currentSeq(asked, domains)) {
      let cancel = () => {};
      const held = deps.waiters.wait(domains.person(asked), wait * 1000, (c) => { cancel = c; });
      if (held !== null) {
        reply.raw.once('close', () => cancel());
        req.raw.socket?.setTimeout(longPollSocketTimeoutMs(wait * 1000, deps.idleTimeoutMs));
        await held;
        // Read again: the table may have changed while the request was held.
        domains = await deps.issuer.domains();
      }
    }
    reply.header('Cache-Control', 'no-store');
    return deps.issuer.issue(deviceId, asked, domains, nowSeconds());
  });
}
