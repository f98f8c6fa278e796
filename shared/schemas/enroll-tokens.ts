// Enrolment tokens in the admin API: what an admin creates so agents can
// enroll (optionally into a group), and their status.
import Type from 'typebox';
import { Id, Timestamp } from './common.ts';
import { Ref } from './admin.ts';

export const EnrollTokenStatus = Type.Union([
  Type.Literal('active'), Type.Literal('expired'), Type.Literal('used-up'), Type.Literal('revoked'),
]);
export type EnrollTokenStatus = Type.Static<typeof EnrollTokenStatus>;

export const EnrollToken = Type.Object({
  id: Id,
  expiresAt: Timestamp,
  usesLeft: Type.Integer(),
  /** revoked wins over expired, expired over used-up. */
  status: EnrollTokenStatus,
  revokedAt: Type.Union([Timestamp, Type.Null()]),
  revokedBy: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  group: Type.Union([Type.Object({ id: Id, name: Type.String() }), Type.Null()]),
  createdAt: Timestamp,
  /** Only present in the answer to the create request: it is stored hashed. */
  token: Type.Optional(Type.String()),
});
export type EnrollToken = Type.Static<typeof EnrollToken>;

export const CreateEnrollTokenBody = Type.Object({
  expiresInSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 366 * 86400 })),
  uses: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  group: Type.Optional(Ref),
}, { additionalProperties: false });
export type CreateEnrollTokenBody = Type.Static<typeof CreateEnrollTokenBody>;
