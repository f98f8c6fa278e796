// Runtime validation against the shared schemas (shared/validate.ts): the
// value comes back typed, or VALIDATION_FAILED names what and where.
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { isValid, validate } from '../../shared/validate.ts';
import { DevlicError } from '../../shared/errors.ts';
import { DeviceFacts, Ed25519PublicJwk, EnrollRequest, FROM_AGENT_MAX_FIELDS, StatusReport } from '../../shared/schemas/device.ts';
import { knownFields } from '../../shared/known-fields.ts';

function failure(fn: () => unknown): DevlicError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DevlicError);
    expect((e as DevlicError).code).toBe('VALIDATION_FAILED');
    expect((e as DevlicError).httpStatus).toBe(400);
    return e as DevlicError;
  }
  throw new Error('expected VALIDATION_FAILED');
}

const facts = {
  machineIdHash: 'a'.repeat(64), hardwareUuid: '', hostname: 'lab-01', manufacturer: 'Dell', model: 'Latitude', serial: 'S1', os: 'Debian 12',
};

describe('validate', () => {
  it('returns the same value when it matches', () => {
    expect(validate(DeviceFacts, facts, 'device facts')).toBe(facts);
  });

  it('names what was being validated and the offending field', () => {
    const e = failure(() => validate(DeviceFacts, { ...facts, hostname: '' }, 'device facts'));
    expect(e.message).toMatch(/^device facts is invalid: /);
    expect(e.message).toContain('/hostname');
  });

  it('names nested fields by their path', () => {
    const e = failure(() => validate(EnrollRequest, { token: 'x'.repeat(20), facts: { ...facts, machineIdHash: 'nothex' }, publicKey: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } }, 'enroll request'));
    expect(e.message).toContain('/facts/machineIdHash');
    const arr = failure(() => validate(StatusReport, {
      mode: 'full', reason: 'ok', users: [{ name: 'ann', mode: 'full' }, { name: 'bob', mode: 'sideways' }], agentVersion: '1', lastError: null, cacheExpiresAt: null, entitlementSeq: 1,
    }, 'status report'));
    expect(arr.message).toContain('/users/1/mode');
  });

  it('names a missing required field', () => {
    const { hostname: _, ...rest } = facts;
    expect(failure(() => validate(DeviceFacts, rest, 'facts')).message).toContain('hostname');
  });

  it('names an unknown field when the schema forbids extra ones (a JWK with private key material)', () => {
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), d: 'B'.repeat(43) };
    expect(failure(() => validate(Ed25519PublicJwk, jwk, 'public key')).message).toContain('d');
  });

  it("what the agent sends tolerates a newer agent's fields, up to a bound; knownFields drops them at every depth", () => {
    const newer = { ...facts, firmware: 'UEFI' };
    expect(validate(DeviceFacts, newer, 'facts')).toBe(newer);
    expect(knownFields(DeviceFacts, newer)).toEqual(facts);
    expect(newer.firmware).toBe('UEFI'); // the caller's value is not changed
    const report = {
      mode: 'full', reason: 'ASSIGNED', agentVersion: '9', lastError: null, cacheExpiresAt: null, entitlementSeq: 3, battery: 40,
      users: [{ name: 'ann', mode: 'full', licence: 'user', seat: 7 }], enforcement: [{ enforcer: 'file', ok: true, took: 3 }],
    };
    expect(knownFields(StatusReport, validate(StatusReport, report, 'status report'))).toEqual({
      mode: 'full', reason: 'ASSIGNED', agentVersion: '9', lastError: null, cacheExpiresAt: null, entitlementSeq: 3,
      users: [{ name: 'ann', mode: 'full', licence: 'user' }], enforcement: [{ enforcer: 'file', ok: true }],
    });
    const flood = Object.fromEntries(Array.from({ length: FROM_AGENT_MAX_FIELDS }, (_, i) => [`x${i}`, i]));
    expect(failure(() => validate(DeviceFacts, { ...facts, ...flood }, 'facts')).message).toContain('(root)');
  });

  it('refuses non-objects with a root error', () => {
    for (const v of [null, undefined, 'x', 3, [facts]]) {
      expect(failure(() => validate(DeviceFacts, v, 'facts')).message).toContain('(root)');
    }
  });

  it('lists at most three problems, so a hostile body cannot make a huge message', () => {
    const S = Type.Object({ a: Type.String(), b: Type.String(), c: Type.String(), d: Type.String(), e: Type.String() });
    const e = failure(() => validate(S, { a: 1, b: 2, c: 3, d: 4, e: 5 }, 'five'));
    expect(e.message.split(';').length).toBeLessThanOrEqual(3);
  });

  it('works the same on repeated calls (cached validator)', () => {
    for (let i = 0; i < 3; i++) {
      expect(validate(DeviceFacts, facts, 'facts')).toBe(facts);
      expect(failure(() => validate(DeviceFacts, { ...facts, os: 5 }, 'facts')).message).toContain('/os');
    }
  });
});

describe('isValid', () => {
  it('answers true or false without throwing', () => {
    expect(isValid(DeviceFacts, facts)).toBe(true);
    expect(isValid(DeviceFacts, { ...facts, serial: 'x'.repeat(500) })).toBe(false);
    expect(isValid(DeviceFacts, null)).toBe(false);
  });
});
