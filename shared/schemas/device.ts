// Messages between the device agent and the licensing service: enrollment,
// the signed entitlement's claims, and the agent's status report.
//
// Upgrade order: what the agent sends (facts, enrollment, status report)
// tolerates fields this version does not know, because agents are updated
// device by device and a newer agent meets an older service; the service
// validates every field it knows and keeps only those (knownFields in
// shared/known-fields.ts), so an unknown field is dropped, never stored. What
// the service sends was already tolerant the other way. The key (a JWK) stays
// strict: nothing unknown is accepted beside key material.
import Type from 'typebox';
import { Id, Mode, PlainText, ReasonCode, Timestamp } from './common.ts';
import type { KnownReason, ServiceReason } from '../reasons.ts';

/** A cap on what a newer agent may add to one object: unknown fields are tolerated, not unbounded. */
export const FROM_AGENT_MAX_FIELDS = 32;

/** What the agent tells the service about its hardware at enrollment. Free text is PlainText: no control characters. */
export const DeviceFacts = Type.Object({
  machineIdHash: Type.String({ pattern: '^[a-f0-9]{64}$' }),
  hardwareUuid: PlainText({ maxLength: 64 }),
  hostname: PlainText({ minLength: 1, maxLength: 255 }),
  manufacturer: PlainText({ maxLength: 128 }),
  model: PlainText({ maxLength: 128 }),
  serial: PlainText({ maxLength: 128 }),
  os: PlainText({ maxLength: 128 }),
}, { maxProperties: FROM_AGENT_MAX_FIELDS });
export type DeviceFacts = Type.Static<typeof DeviceFacts>;

/** An Ed25519 public key as a JWK (RFC 8037). */
export const Ed25519PublicJwk = Type.Object({
  kty: Type.Literal('OKP'),
  crv: Type.Literal('Ed25519'),
  x: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }),
  kid: Type.Optional(PlainText({ maxLength: 128 })),
  alg: Type.Optional(Type.Literal('EdDSA')),
  use: Type.Optional(Type.Literal('sig')),
}, { additionalProperties: false });
export type Ed25519PublicJwk = Type.Static<typeof Ed25519PublicJwk>;

export const Jwks = Type.Object({ keys: Type.Array(Ed25519PublicJwk, { maxItems: 16 }) });
export type Jwks = Type.Static<typeof Jwks>;

export const EnrollRequest = Type.Object({
  token: PlainText({ minLength: 8, maxLength: 256 }),
  facts: DeviceFacts,
  publicKey: Ed25519PublicJwk,
  /**
   * Re-enrolling a known device: a short-lived JWT signed by the device's
   * CURRENT key over the new public key (shared/device-proofs.ts). Only with a
   * valid proof does the device keep its id; matching hardware facts alone
   * enroll a new device flagged as a possible duplicate.
   */
  proof: Type.Optional(Type.String({ minLength: 16, maxLength: 2048, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$' })),
}, { maxProperties: FROM_AGENT_MAX_FIELDS });
export type EnrollRequest = Type.Static<typeof EnrollRequest>;

export const EnrollResponse = Type.Object({
  deviceId: Id,
  issuer: Type.String(),
  audience: Type.String(),
  keys: Jwks,
  /** true when the device proved possession of its current key and kept its device id. */
  reenrolled: Type.Boolean(),
  /** Set when the hardware facts match an existing device that was NOT proven: a new device, possibly a duplicate of that one. */
  duplicateOf: Type.Optional(Type.Union([Id, Type.Null()])),
});
export type EnrollResponse = Type.Static<typeof EnrollResponse>;

/** Claims of the compact JWS the service signs for one device. */
export const EntitlementClaims = Type.Object({
  iss: Type.String(),
  sub: Id,
  aud: Type.String(),
  iat: Type.Integer(),
  nbf: Type.Integer(),
  exp: Type.Integer(),
  seq: Type.Integer({ minimum: 1 }),
  status: Type.Union([Type.Literal('licensed'), Type.Literal('unlicensed')]),
  /** Open-ended: a code this agent does not know is kept, and the mode follows `status`. */
  reason: ReasonCode<ServiceReason>(),
  product: Type.Union([Type.String(), Type.Null()]),
  productName: Type.Union([Type.String(), Type.Null()]),
  subscription: Type.Union([Id, Type.Null()]),
  group: Type.Union([Id, Type.Null()]),
  warnAt: Type.Integer(),
  refreshAfter: Type.Integer(),
});
export type EntitlementClaims = Type.Static<typeof EntitlementClaims>;

/** The entitlement endpoint's JSON body: the JWS plus its seq for cheap checks. */
export const EntitlementResponse = Type.Object({
  token: Type.String({ maxLength: 8192 }),
  seq: Type.Integer({ minimum: 1 }),
});
export type EntitlementResponse = Type.Static<typeof EntitlementResponse>;

export const ReportedUser = Type.Object({
  name: PlainText({ minLength: 1, maxLength: 256 }),
  /** That person's own mode (issue 16); the report's `mode` is the per-machine one. */
  mode: Mode,
  since: Type.Optional(Timestamp),
  /** Which licence gave full mode: the device's or the person's own (null: read-only). Absent from agents older than this field. */
  licence: Type.Optional(Type.Union([Type.Literal('device'), Type.Literal('user'), Type.Null()])),
}, { maxProperties: FROM_AGENT_MAX_FIELDS });
export type ReportedUser = Type.Static<typeof ReportedUser>;

/**
 * Whether one enforcer holds the device's mode: false when its last apply
 * (or drift repair) failed, e.g. LibreOffice too old for viewer mode.
 */
export const EnforcerHealth = Type.Object({
  /** The enforcer's name (`apps` entry): libreoffice, file, hook... */
  enforcer: PlainText({ minLength: 1, maxLength: 64 }),
  ok: Type.Boolean(),
  /** Why not, in short, when ok is false. */
  reason: Type.Optional(PlainText({ maxLength: 300 })),
}, { maxProperties: FROM_AGENT_MAX_FIELDS });
export type EnforcerHealth = Type.Static<typeof EnforcerHealth>;

/** The agent's periodic status report; kept as the device's last-seen state. */
export const StatusReport = Type.Object({
  mode: Mode,
  /** Any code in shared/reasons.ts; free text on the wire so that a newer agent's code is kept, not refused. */
  reason: ReasonCode<KnownReason>(PlainText({ maxLength: 64 })),
  users: Type.Array(ReportedUser, { maxItems: 256 }),
  agentVersion: PlainText({ minLength: 1, maxLength: 64 }),
  /** The OS version (systeminformation's osInfo().release), a fact group rules can name. Absent from older agents: the stored one stays. */
  osVersion: Type.Optional(PlainText({ minLength: 1, maxLength: 128 })),
  lastError: Type.Union([PlainText({ maxLength: 2048 }), Type.Null()]),
  cacheExpiresAt: Type.Union([Timestamp, Type.Null()]),
  entitlementSeq: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  /** One entry per configured enforcer. Absent from agents older than this field: their health is unknown. */
  enforcement: Type.Optional(Type.Array(EnforcerHealth, { maxItems: 32 })),
}, { maxProperties: FROM_AGENT_MAX_FIELDS });
export type StatusReport = Type.Static<typeof StatusReport>;
