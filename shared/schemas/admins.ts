// Admin accounts in the admin API: their role, token (shown once) and
// revocation, and the bodies that create or revoke one.
import Type from 'typebox';
import { Id, Name, Timestamp } from './common.ts';
import { Role } from './admin.ts';

export const Admin = Type.Object({
  id: Id,
  name: Type.String(),
  role: Role,
  createdAt: Timestamp,
  /** A revoked token is refused (401) at once, open event streams included. */
  revokedAt: Type.Union([Timestamp, Type.Null()]),
  revokedBy: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  token: Type.Optional(Type.String()),
});
export type Admin = Type.Static<typeof Admin>;

/** `POST /admins/:ref/revoke`: :ref is an admin id (or a unique name). */
export const RevokeAdminBody = Type.Object({}, { additionalProperties: false });

export const CreateAdminBody = Type.Object({
  role: Role,
  name: Type.Optional(Name),
}, { additionalProperties: false });
export type CreateAdminBody = Type.Static<typeof CreateAdminBody>;
