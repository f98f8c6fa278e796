// Device groups in the admin API: the group object, its rule (and the rule
// preview), and the request bodies that create, rename, delete, nest and fill
// groups.
import Type from 'typebox';
import { Id, Name, Timestamp } from './common.ts';
import { Confirm, Ref } from './admin.ts';

export const Group = Type.Object({
  id: Id,
  name: Type.String(),
  deviceCount: Type.Integer({ description: 'direct members' }),
  parents: Type.Array(Type.Object({ id: Id, name: Type.String() })),
  children: Type.Array(Type.Object({ id: Id, name: Type.String() })),
  subscription: Type.Union([Type.Object({ id: Id, name: Type.String() }), Type.Null()]),
  createdAt: Timestamp,
  /** The group's rule (docs/design.md, "Rule-based groups"); null: members are added by hand. */
  rule: Type.Union([Type.String(), Type.Null()]),
  /** The directory group it follows (docs/design.md, "Directory groups"); null: not a directory group. */
  directory: Type.Optional(Type.Union([Type.Object({ id: Id, name: Type.String(), dn: Type.String() }), Type.Null()])),
  /** Only on `GET /groups/:ref`: the first direct members, earliest first, and why each is one. */
  members: Type.Optional(Type.Array(Type.Object({ id: Id, name: Type.String(), why: Type.Union([Type.Literal('rule'), Type.Literal('directory'), Type.Literal('manual')]) }))),
});
export type Group = Type.Static<typeof Group>;

/** A group rule's text; the length limit the parser enforces (2,000) is checked there, with a clear RULE_INVALID. */
export const RuleText = Type.String({ maxLength: 10_000 });

/** `POST /groups/preview`: how many devices in service a rule would match now (changes nothing). */
export const RulePreviewBody = Type.Object({ rule: RuleText }, { additionalProperties: false });
export type RulePreviewBody = Type.Static<typeof RulePreviewBody>;
export const RulePreview = Type.Object({
  matches: Type.Integer({ description: 'devices in service (not retired) the rule matches' }),
  of: Type.Integer({ description: 'devices in service' }),
  sample: Type.Array(Type.Object({ id: Id, name: Type.String() }), { description: 'up to 20 of them, by name' }),
});
export type RulePreview = Type.Static<typeof RulePreview>;

/**
 * `POST /groups/:ref/rule`: set or replace the rule (guarded, see Confirm), or
 * `rule: null` to go back to hand-made membership: the current members stay, as manual members.
 */
export const GroupRuleBody = Type.Object({ rule: Type.Union([RuleText, Type.Null()]), confirm: Confirm }, { additionalProperties: false });
export type GroupRuleBody = Type.Static<typeof GroupRuleBody>;

export const CreateGroupBody = Type.Object({
  name: Name,
  parent: Type.Optional(Ref),
  rule: Type.Optional(RuleText),
  /** With `dn`: a directory group (members from the directory; not with `rule`). */
  directory: Type.Optional(Ref),
  dn: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
}, { additionalProperties: false });
export type CreateGroupBody = Type.Static<typeof CreateGroupBody>;

/** `PATCH /groups/:ref`: rename. */
export const UpdateGroupBody = Type.Object({ name: Name }, { additionalProperties: false });
export type UpdateGroupBody = Type.Static<typeof UpdateGroupBody>;

/** `DELETE /groups/:ref` (body optional). Refused with GROUP_HAS_LICENSES while a subscription is assigned to it or to a group nested in it. */
export const DeleteGroupBody = Type.Object({ confirm: Confirm }, { additionalProperties: false });
export type DeleteGroupBody = Type.Static<typeof DeleteGroupBody>;

/** Add or remove (`/devices/remove`) devices; both guarded (see Confirm). */
export const GroupDevicesBody = Type.Object({
  devices: Type.Array(Ref, { minItems: 1, maxItems: 10_000 }),
  confirm: Confirm,
}, { additionalProperties: false });
export type GroupDevicesBody = Type.Static<typeof GroupDevicesBody>;

/** Nest or unnest (`/children/remove`) a group; both guarded (see Confirm). */
export const GroupChildBody = Type.Object({ group: Ref, confirm: Confirm }, { additionalProperties: false });
export type GroupChildBody = Type.Static<typeof GroupChildBody>;
