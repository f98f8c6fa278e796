// Messages for per-user licences (issue 16): a device asks for the entitlement
// of a person signed in on it, and the service answers with a token signed by
// the same keys as the device's, but of its own JWS type
// (USER_ENTITLEMENT_TYP), so neither kind of token can stand in for the other.
import Type from 'typebox';
import { PlainText } from './common.ts';
import { EntitlementClaims, FROM_AGENT_MAX_FIELDS } from './device.ts';
import { SIGN_IN_NAME_MAX } from '../sign-in.ts';

/** A sign-in name on the wire; the receiver normalises it (shared/sign-in.ts). */
export const SignInName = PlainText({ minLength: 1, maxLength: SIGN_IN_NAME_MAX });

/** Claims of a user entitlement: a device entitlement's, plus the person. `sub` is still the device. */
export const UserEntitlementClaims = Type.Object({
  ...EntitlementClaims.properties,
  /** The normalised sign-in name the device asked about: the agent accepts the token for this name only. */
  user: SignInName,
  /** Whose licence it is, when a sign-in domain alias makes `user` another spelling of that person (`alice@corp` -> `alice@corp.example.com`). */
  person: Type.Optional(SignInName),
}, { additionalProperties: false });
export type UserEntitlementClaims = Type.Static<typeof UserEntitlementClaims>;

/** POST /v1/device/user-entitlement: the device asks about one signed-in person. */
export const UserEntitlementRequest = Type.Object({
  user: SignInName,
  /** Long-poll: answer when the user's seq differs from this one (or at the wait's end). */
  seq: Type.Optional(Type.Integer({ minimum: 0 })),
  wait: Type.Optional(Type.Integer({ minimum: 0, maximum: 300 })),
  // Tolerant like every message from the agent (see shared/schemas/device.ts); only these three are read.
}, { maxProperties: FROM_AGENT_MAX_FIELDS });
export type UserEntitlementRequest = Type.Static<typeof UserEntitlementRequest>;

export const UserEntitlementResponse = Type.Object({
  /** The normalised name the token is for (the one asked about). */
  user: SignInName,
  /** The person behind it, when a sign-in domain alias maps `user` to another spelling. */
  person: Type.Optional(SignInName),
  token: Type.String({ maxLength: 8192 }),
  seq: Type.Integer({ minimum: 1 }),
}, { additionalProperties: false });
export type UserEntitlementResponse = Type.Static<typeof UserEntitlementResponse>;
