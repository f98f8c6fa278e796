// Admin messages for per-user licences (issue 16): user groups, their
// members, and assigning a user product's subscription to a user group.
import Type from 'typebox';
import { Id, Name, Timestamp } from './common.ts';
import { Confirm, Ref } from './admin.ts';
import { SignInName } from './user.ts';

/** A sign-in name the sync could not take from a user object: reported, never guessed. */
export const SkippedUser = Type.Object({ dn: Type.String(), value: Type.Union([Type.String(), Type.Null()]), error: Type.String() });
export type SkippedUser = Type.Static<typeof SkippedUser>;

/** What the last good sync found for one directory user group (stored as JSON in user_groups.directory_sync). */
export const UserGroupSync = Type.Object({
  at: Timestamp,
  /** People (user objects with a sign-in name) in the directory group, nested groups included. */
  people: Type.Integer(),
  added: Type.Integer(),
  removed: Type.Integer(),
  /** User objects left out because no valid sign-in name could be taken from them; `skippedSample` has the first 20. */
  skipped: Type.Integer(),
  skippedSample: Type.Array(SkippedUser),
  directoryGroups: Type.Integer(),
});
export type UserGroupSync = Type.Static<typeof UserGroupSync>;

export const UserGroupDirectory = Type.Object({
  id: Id, name: Type.String(), dn: Type.String(),
  /** The directory's last sync (any outcome): a failed one changed nothing. */
  lastSync: Type.Union([Type.Object({ at: Timestamp, ok: Type.Boolean(), error: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  /** This group's part of the last good sync; null before the first. */
  group: Type.Union([UserGroupSync, Type.Null()]),
});

export const UserGroup = Type.Object({
  id: Id,
  name: Type.String(),
  createdAt: Timestamp,
  memberCount: Type.Integer(),
  /** Normalised sign-in names in seat order; the first 1,000 (memberCount has them all). */
  members: Type.Array(Type.String()),
  subscription: Type.Union([Type.Object({ id: Id, name: Type.String() }), Type.Null()]),
  /** The directory group it follows (members synced from it; no hand edits), or null for manual members. */
  directory: Type.Union([UserGroupDirectory, Type.Null()]),
});
export type UserGroup = Type.Static<typeof UserGroup>;

export const CreateUserGroupBody = Type.Object({
  name: Name,
  /** With `dn`: a directory user group, its members the directory group's user objects (docs/design.md, "Directory user groups"). */
  directory: Type.Optional(Ref),
  dn: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, pattern: '^[^\\u0000-\\u001f]+$' })),
}, { additionalProperties: false });
export type CreateUserGroupBody = Type.Static<typeof CreateUserGroupBody>;

/** A rename: the id, members, directory link and licence stay. */
export const UpdateUserGroupBody = Type.Object({ name: Name }, { additionalProperties: false });
export type UpdateUserGroupBody = Type.Static<typeof UpdateUserGroupBody>;

/** Sign-in names as typed: the service normalises them (shared/sign-in.ts); one invalid name refuses the whole request. */
export const UserGroupUsersBody = Type.Object({
  users: Type.Array(SignInName, { minItems: 1, maxItems: 1000 }),
  /** Needed when a licensed person would lose their licence (CONFIRMATION_REQUIRED otherwise). */
  confirm: Confirm,
}, { additionalProperties: false });
export type UserGroupUsersBody = Type.Static<typeof UserGroupUsersBody>;

/** The answer to adding people: the group as it is now, and the names this request stored (new members, in the service's spelling). */
export const UserGroupAdded = Type.Object({
  ...UserGroup.properties,
  added: Type.Array(Type.String()),
});
export type UserGroupAdded = Type.Static<typeof UserGroupAdded>;

export const AssignUserGroupBody = Type.Object({
  subscription: Ref,
  userGroup: Ref,
  /** Needed for an unassign that takes licensed people's licence (CONFIRMATION_REQUIRED otherwise). */
  confirm: Confirm,
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
