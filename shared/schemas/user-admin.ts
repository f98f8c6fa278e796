// Admin messages for per-user licences (issue 16): user groups, their
// members, and assigning a user product's subscription to a user group.
import Type from 'typebox';
import { Id, Name, Timestamp } from './common.ts';
import { Ref } from './admin.ts';
import { SignInName } from './user.ts';

export const UserGroup = Type.Object({
  id: Id,
  name: Type.String(),
  createdAt: Timestamp,
  memberCount: Type.Integer(),
  /** Normalised sign-in names in seat order; the first 1,000 (memberCount has them all). */
  members: Type.Array(Type.String()),
  subscription: Type.Union([Type.Object({ id: Id, name: Type.String() }), Type.Null()]),
});
export type UserGroup = Type.Static<typeof UserGroup>;

export const CreateUserGroupBody = Type.Object({ name: Name }, { additionalProperties: false });
export type CreateUserGroupBody = Type.Static<typeof CreateUserGroupBody>;

/** Sign-in names as typed: the service normalises them (shared/sign-in.ts); one invalid name refuses the whole request. */
export const UserGroupUsersBody = Type.Object({
  users: Type.Array(SignInName, { minItems: 1, maxItems: 1000 }),
}, { additionalProperties: false });
export type UserGroupUsersBody = Type.Static<typeof UserGroupUsersBody>;

export const AssignUserGroupBody = Type.Object({
  subscription: Ref,
  userGroup: Ref,
  /** Accepted for symmetry with device assignments (devlic-admin --yes); user changes ask no confirmation. */
  confirm: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });
export type AssignUserGroupBody = Type.Static<typeof AssignUserGroupBody>;

export const UserAssignment = Type.Object({
  id: Id,
  subscription: Type.Object({ id: Id, name: Type.String() }),
  userGroup: Type.Object({ id: Id, name: Type.String() }),
  product: Type.String(),
  createdAt: Timestamp,
});
export type UserAssignment = Type.Static<typeof UserAssignment>;

/** One person's current answer, as the service would sign it. */
export const UserLicence = Type.Object({
  user: Type.String(),
  seq: Type.Integer(),
  status: Type.Union([Type.Literal('licensed'), Type.Literal('unlicensed')]),
  reason: Type.String(),
  product: Type.Union([Type.String(), Type.Null()]),
  subscription: Type.Union([Id, Type.Null()]),
  userGroup: Type.Union([Id, Type.Null()]),
});
export type UserLicence = Type.Static<typeof UserLicence>;
