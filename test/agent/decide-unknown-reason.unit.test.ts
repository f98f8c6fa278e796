// The compatibility rule for reason codes (docs/design.md, "Contracts"): a
// token signed by the service with a reason code this agent does not know
// (a newer service) still verifies; the mode follows the token's `status`, and
// the code is passed through as-is with the generic label. Before the catalogue
// the claims schema listed the codes, so such a token was refused whole
// (TOKEN_INVALID, read-only) even when it said "licensed".
import { describe, expect, it } from 'vitest';
import { generateSigningKey, publicJwk, signEntitlement } from '../../shared/token.ts';
import { ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';
import { StatusReport, type EntitlementClaims } from '../../shared/schemas/device.ts';
import { isValid } from '../../shared/validate.ts';
import { reasonInfo, reasonLabel, UNKNOWN_REASON } from '../../shared/reasons.ts';
import { checkToken } from '../../agent/decision/evaluate.ts';
import { decide, type DecideInput } from '../../agent/decision/decide.ts';
import type { StoredIdentity } from '../../agent/store/files.ts';
import { formatStatus, type AgentStatus } from '../../agent/report/status.ts';

const ISSUER = 'https://licensing.example.test';
const NOW_MS = Date.parse('2030-01-01T00:00:00Z');
const NOW = NOW_MS / 1000;
const key = generateSigningKey();
const NEW_CODE = 'SEAT_ON_LOAN';

function claims(over: Record<string, unknown> = {}): EntitlementClaims {
  return {
    iss: ISSUER, sub: 'dev_1', aud: ENTITLEMENT_AUDIENCE, iat: NOW, nbf: NOW - 300, exp: NOW + 90 * 86400, seq: 7,
    status: 'licensed', reason: 'ASSIGNED', product: 'M365_APPS_ENTERPRISE_DEVICE', productName: 'M365 Apps',
    subscription: 'sub_1', group: 'grp_1', warnAt: NOW + 80 * 86400, refreshAfter: NOW + 86400, ...over,
  } as EntitlementClaims;
}

// checkToken reads only the pinned keys, the device id and the issuer.
async function identity(): Promise<StoredIdentity> {
  return { deviceId: 'dev_1', issuer: ISSUER, keys: { keys: [await publicJwk(key.publicKey, key.kid)] } } as unknown as StoredIdentity;
}

async function decideFor(c: EntitlementClaims) {
  const entitlement = await checkToken(await signEntitlement(key, c), await identity());
  const input: DecideInput = {
    enrolled: true, revoked: false, entitlement, minSeq: 7, nowMs: NOW_MS + 1000,
    clock: { highWaterMs: NOW_MS, sync: { serverMs: NOW_MS, localMs: NOW_MS }, observed: null },
  };
  return { entitlement, decision: decide(input) };
}

describe('a reason code this agent does not know', () => {
  it('in a licensed token: the token verifies, the device is full, the code is kept', async () => {
    const { entitlement, decision } = await decideFor(claims({ reason: NEW_CODE }));
    expect(entitlement.kind).toBe('valid');
    expect(decision).toMatchObject({ mode: 'full', reason: NEW_CODE });
  });

  it('in an unlicensed token: read-only, with the code as the reason', async () => {
    const { decision } = await decideFor(claims({ status: 'unlicensed', reason: NEW_CODE, product: null, subscription: null }));
    expect(decision).toMatchObject({ mode: 'read-only', reason: NEW_CODE });
  });

  it('is shown as-is with the generic label, and reported to the service as-is', async () => {
    expect(reasonInfo(NEW_CODE)).toBeNull();
    expect(reasonLabel(NEW_CODE)).toBe(UNKNOWN_REASON.label);
    const report = { mode: 'full', reason: NEW_CODE, users: [], agentVersion: '0.1.0', lastError: null, cacheExpiresAt: null, entitlementSeq: 7 };
    expect(isValid(StatusReport, report)).toBe(true);
  });

  it('must still look like a code: a malformed reason makes the token invalid', async () => {
    for (const reason of ['lower_case', 'WITH SPACE', '', 'X'.repeat(65), 42]) {
      const { entitlement, decision } = await decideFor(claims({ reason }));
      expect(entitlement.kind, String(reason)).toBe('invalid');
      expect(decision).toMatchObject({ mode: 'read-only', reason: 'TOKEN_INVALID' });
    }
  });
});

describe('known codes keep their behaviour', () => {
  it('ASSIGNED is full, every other service code is read-only, each with its own label', async () => {
    for (const code of ['ASSIGNED', 'NOT_IN_LICENSED_GROUP', 'SEATS_EXHAUSTED', 'DEVICE_RETIRED'] as const) {
      const status = code === 'ASSIGNED' ? 'licensed' : 'unlicensed';
      const { decision } = await decideFor(claims({ status, reason: code }));
      expect(decision).toMatchObject({ mode: code === 'ASSIGNED' ? 'full' : 'read-only', reason: code });
      expect(reasonLabel(code)).toBe(reasonInfo(code)!.label);
      expect(reasonLabel(code)).not.toBe(UNKNOWN_REASON.label);
    }
  });
});

describe('devlic-agent status', () => {
  const status = (reason: string): AgentStatus => ({
    deviceId: 'dev_1', enrolled: false, server: null, mode: 'full', reason, warning: null, detail: null, facts: null, enrolledAt: null,
    revoked: null, pinnedKeys: [],
    entitlement: { status: 'licensed', product: null, productName: null, subscription: null, group: null, seq: 7, issuedAt: null,
      expiresAt: null, warnAt: null, refreshAfter: null, valid: true, error: null },
    lastSync: { at: null, ok: null, error: null }, lastSuccessfulSync: null, nextSync: null,
    clock: { now: '2030-01-01T00:00:00.000Z', effectiveNow: null, trustedHighWater: null, observedHighWater: null, observedReason: null, testHook: false },
    users: [], machine: { mode: 'full', reason }, enforcers: [], applied: null, lastDrift: null, database: { ok: true, error: null, hint: null }, daemon: { running: false, pid: null },
    agentVersion: '0.1.0', dataDir: '/var/lib/devlic',
  });

  it('prints an unknown code as-is with the generic label; a known code prints as before, without it', () => {
    const unknown = formatStatus(status(NEW_CODE));
    expect(unknown).toContain(`full (${NEW_CODE})`);
    expect(unknown).toContain(UNKNOWN_REASON.label);
    const known = formatStatus(status('ASSIGNED'));
    expect(known).toContain('full (ASSIGNED)');
    expect(known).not.toContain(UNKNOWN_REASON.label);
  });
});
