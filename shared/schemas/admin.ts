// Objects and request bodies of the admin API; `devlic-admin --json` prints
// these objects as they are. Every object has an `id`.
import Type from 'typebox';
import { EntitlementReason, Id, Mode, Name, Timestamp } from './common.ts';
import { ReportedUser } from './device.ts';

/** A reference typed by an admin: an id or a unique name. */
export const Ref = Type.String({ minLength: 1, maxLength: 128 });

export const Role = Type.Union([Type.Literal('global-admin'), Type.Literal('reader')]);
export type Role = Type.Static<typeof Role>;

export const Product = Type.Object({
  id: Type.String(),
  sku: Type.String(),
  name: Type.String(),
  channel: Type.String(),
  /** What its subscriptions license: device groups, or user groups (seats count people). Absent from older services. */
  kind: Type.Optional(Type.Union([Type.Literal('device'), Type.Literal('user')])),
  seatsTotal: Type.Integer(),
  seatsAssigned: Type.Integer(),
  seatsAvailable: Type.Integer(),
});
export type Product = Type.Static<typeof Product>;

export const SubscriptionStatus = Type.Union([
  Type.Literal('active'), Type.Literal('expired'), Type.Literal('suspended'),
]);
export type SubscriptionStatus = Type.Static<typeof SubscriptionStatus>;

export const Subscription = Type.Object({
  id: Id,
  name: Type.String(),
  product: Type.String(),
  productName: Type.String(),
  seats: Type.Integer(),
  seatsUsed: Type.Integer(),
  seatsExhausted: Type.Integer({ description: 'devices reached that got no seat' }),
  termEnd: Type.Union([Timestamp, Type.Null()]),
  status: SubscriptionStatus,
  groups: Type.Array(Type.Object({ id: Id, name: Type.String() })),
  createdAt: Timestamp,
});
export type Subscription = Type.Static<typeof Subscription>;

export const CreateSubscriptionBody = Type.Object({
  product: Type.String({ minLength: 1, maxLength: 64 }),
  seats: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
  name: Type.Optional(Name),
  termEnd: Type.Optional(Timestamp),
}, { additionalProperties: false });
export type CreateSubscriptionBody = Type.Static<typeof CreateSubscriptionBody>;

/**
 * Present on every request body whose change may make devices read-only
 * (unassign, seats below use, suspend, a term end in the past, retire,
 * restore, disable, removing devices or a nested group from a licensed group,
 * group delete; and assign, nest or add-devices when they would push devices
 * that hold a seat out of the seat order). The service runs the change,
 * measures it and rolls it back: without `confirm: true` a change that takes
 * a seat from any device is refused with HTTP 428, code
 * CONFIRMATION_REQUIRED and `details.impact` (an Impact), and nothing
 * changes; a change that takes no seat needs no confirmation.
 */
export const Confirm = Type.Optional(Type.Boolean({ description: 'proceed although devices go read-only (see CONFIRMATION_REQUIRED)' }));

/** What a change would do to the fleet: `details.impact` of a CONFIRMATION_REQUIRED error. */
export const Impact = Type.Object({
  /** Devices that hold a seat now and would go read-only. */
  devices: Type.Integer(),
  /** Devices without a seat now that would get one (the next in allocation order). */
  devicesGainingSeat: Type.Integer(),
  /** Up to 20 of the devices that would go read-only, for the message. */
  sample: Type.Array(Type.Object({ id: Id, name: Type.String() })),
  /** People (issue 16) who hold a user licence now and would lose it; absent when none would. */
  people: Type.Optional(Type.Integer()),
  /** People without a user licence now who would get one (the next in seat order). */
  peopleGainingSeat: Type.Optional(Type.Integer()),
  /** Up to 20 of the people who would lose their licence (normalised sign-in names). */
  peopleSample: Type.Optional(Type.Array(Type.String())),
});
export type Impact = Type.Static<typeof Impact>;

export const UpdateSubscriptionBody = Type.Object({
  name: Type.Optional(Name),
  seats: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
  termEnd: Type.Optional(Type.Union([Timestamp, Type.Null()])),
  confirm: Confirm,
}, { additionalProperties: false, minProperties: 1 });
export type UpdateSubscriptionBody = Type.Static<typeof UpdateSubscriptionBody>;

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

/** Assign or unassign; both guarded (see Confirm). */
export const AssignBody = Type.Object({
  subscription: Ref,
  group: Ref,
  confirm: Confirm,
}, { additionalProperties: false });
export type AssignBody = Type.Static<typeof AssignBody>;

/** The answer to a delete: what is gone. */
export const Deleted = Type.Object({
  id: Id,
  name: Type.String(),
  deleted: Type.Literal(true),
});
export type Deleted = Type.Static<typeof Deleted>;

export const Assignment = Type.Object({
  id: Id,
  subscription: Type.Object({ id: Id, name: Type.String() }),
  group: Type.Object({ id: Id, name: Type.String() }),
  product: Type.String(),
  createdAt: Timestamp,
  devicesReached: Type.Integer(),
});
export type Assignment = Type.Static<typeof Assignment>;

export const UnassignResult = Type.Object({
  id: Id,
  subscription: Type.Object({ id: Id, name: Type.String() }),
  group: Type.Object({ id: Id, name: Type.String() }),
  devicesAffected: Type.Integer({ description: 'devices that lost their licence' }),
});
export type UnassignResult = Type.Static<typeof UnassignResult>;

/** Who retired a device and when; null while it is in service. */
export const Retired = Type.Union([Type.Object({
  at: Timestamp,
  /** The admin, or {id: 'system', name: 'devlic-server'} for the stale-device timer. */
  by: Type.Object({ id: Type.String(), name: Type.String() }),
  /** 'admin' (devices retire) or 'stale' (not seen for retireStaleAfter). */
  reason: Type.Union([Type.Literal('admin'), Type.Literal('stale')]),
}), Type.Null()]);
export type Retired = Type.Static<typeof Retired>;

/**
 * Whether the device's enforcers hold its mode, from its last status report:
 * ok null means unknown (never reported, or an agent too old to say).
 */
export const DeviceEnforcement = Type.Object({
  ok: Type.Union([Type.Boolean(), Type.Null()]),
  /** The enforcers that do not, each with its short reason. */
  failing: Type.Array(Type.Object({ enforcer: Type.String(), reason: Type.String() })),
});
export type DeviceEnforcement = Type.Static<typeof DeviceEnforcement>;

/** The fleet view: one row per device. */
export const DeviceView = Type.Object({
  id: Id,
  name: Type.String(),
  groups: Type.Array(Type.Object({ id: Id, name: Type.String() })),
  licensed: Type.Boolean(),
  reason: EntitlementReason,
  product: Type.Union([Type.String(), Type.Null()]),
  subscription: Type.Union([Type.Object({ id: Id, name: Type.String() }), Type.Null()]),
  licenseGroup: Type.Union([Type.Object({ id: Id, name: Type.String() }), Type.Null()]),
  entitlementSeq: Type.Integer(),
  disabled: Type.Boolean(),
  lastMode: Type.Union([Mode, Type.Null()]),
  lastReason: Type.Union([Type.String(), Type.Null()]),
  lastSeenAt: Type.Union([Timestamp, Type.Null()]),
  users: Type.Array(ReportedUser),
  agentVersion: Type.Union([Type.String(), Type.Null()]),
  cacheExpiresAt: Type.Union([Timestamp, Type.Null()]),
  enforcement: DeviceEnforcement,
  enrolledAt: Timestamp,
  /** An older device with the same hardware facts: this one enrolled without proving it is that device (merge it if it is). */
  duplicateOf: Type.Union([Type.Object({ id: Id, name: Type.String() }), Type.Null()]),
  /** Retired devices hold no seat (reason DEVICE_RETIRED) and stay listed until deleted. */
  retired: Retired,
});
export type DeviceView = Type.Static<typeof DeviceView>;

/**
 * The hardware facts as an admin sees them. For readers the identifiers
 * (machineIdHash, hardwareUuid, serial) are replaced by a short hash
 * ("sha256:" + 12 hex), enough to spot two records of one machine.
 */
export const DeviceFactsView = Type.Object({
  machineIdHash: Type.String(),
  hardwareUuid: Type.String(),
  hostname: Type.String(),
  manufacturer: Type.String(),
  model: Type.String(),
  serial: Type.String(),
  os: Type.String(),
  /** true when the identifiers above are short hashes, not the raw values. */
  redacted: Type.Boolean(),
});
export type DeviceFactsView = Type.Static<typeof DeviceFactsView>;

export const DeviceReportRow = Type.Object({
  at: Timestamp,
  mode: Mode,
  reason: Type.String(),
  users: Type.Array(ReportedUser),
  agentVersion: Type.String(),
  lastError: Type.Union([Type.String(), Type.Null()]),
});

export const DeviceDetail = Type.Intersect([DeviceView, Type.Object({
  facts: DeviceFactsView,
  /** Admin-set tags (lower-case), a fact group rules can name. */
  tags: Type.Array(Type.String()),
  /** The OS version the agent last reported (null: an agent that does not report it, or no report yet). */
  osVersion: Type.Union([Type.String(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  reports: Type.Array(DeviceReportRow),
})]);
export type DeviceDetail = Type.Static<typeof DeviceDetail>;

export const DeviceListQuery = Type.Object({
  licensed: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
  reason: Type.Optional(EntitlementReason),
  q: Type.Optional(Type.String({ maxLength: 128 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  /** Skip this many matching devices (kept for compatibility: a deep offset still walks the rows it skips; prefer `after`). */
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
  /**
   * The page after this cursor: the `next` of the previous page (opaque; the
   * order is enrolment, then id). Costs the same at any depth and never skips
   * or repeats a device when others enroll or leave meanwhile. Not with `offset`.
   */
  after: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  /**
   * With `after`: 'true' counts the filter's total again for this page (a view a person reads, where
   * the count must be now's); by default a page by cursor repeats its walk's first count (`totalAsOf`).
   */
  recount: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
  /** Direct members of this group (id or unique name). */
  group: Type.Optional(Ref),
  /** Devices whose entitlement names this subscription (id or unique name): seated by it, or turned away by it (SEATS_EXHAUSTED). */
  subscription: Type.Optional(Ref),
  /** Mode the device last reported. */
  mode: Type.Optional(Mode),
  /** Whether the last report said every enforcer holds the mode: 'false' is the "not enforced" filter; 'unknown': no such report. */
  enforced: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('unknown')])),
  /** Not seen (reported or enrolled) for more than this many minutes. */
  staleMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 527_040 })),
  /** 'true': only retired devices; 'false': only devices in service; absent: both. */
  retired: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
}, { additionalProperties: false });
export type DeviceListQuery = Type.Static<typeof DeviceListQuery>;

/** `DeviceListQuery` without paging: `GET /devices.csv` exports every matching device. */
export const DeviceCsvQuery = Type.Omit(DeviceListQuery, ['limit', 'offset', 'after', 'recount']);
export type DeviceCsvQuery = Type.Static<typeof DeviceCsvQuery>;

/** Columns of `GET /devices.csv` (text/csv, RFC 4180, a header row, formula-like cells prefixed with '). */
export const DEVICE_CSV_COLUMNS = ['hostname', 'group', 'seat', 'mode', 'enforcement', 'users', 'agent version', 'last seen'] as const;

export const UpdateDeviceBody = Type.Object({
  disabled: Type.Boolean(),
  confirm: Confirm,
}, { additionalProperties: false });
export type UpdateDeviceBody = Type.Static<typeof UpdateDeviceBody>;

/** `POST /devices/:ref/tags` and `/tags/remove`: admin-set tags (guarded, see Confirm: a rule group may drop the device). */
export const DeviceTagsBody = Type.Object({
  tags: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 100 }),
  confirm: Confirm,
}, { additionalProperties: false });
export type DeviceTagsBody = Type.Static<typeof DeviceTagsBody>;

/** `POST /devices/:ref/merge`: the device `from` (enrolled anew, e.g. after a reinstall) becomes device `:ref`. */
export const MergeDevicesBody = Type.Object({
  from: Ref,
  /** Merge even though `:ref` reported after `from` enrolled (its agent still seems to run with its own key). */
  force: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });
export type MergeDevicesBody = Type.Static<typeof MergeDevicesBody>;

export const MergeResult = Type.Object({
  /** The device that remains (the old id, with its groups, seat and history), now holding the key of `retired`. */
  id: Id,
  /** The id that no longer exists; its agent is told to use `id`. */
  retired: Id,
  device: DeviceView,
});
export type MergeResult = Type.Static<typeof MergeResult>;

/** `POST /devices/:ref/retire` and `/restore` (guarded: retire frees the seat for the next device in line, restore may take it back). */
export const RetireDeviceBody = Type.Object({ confirm: Confirm }, { additionalProperties: false });
export type RetireDeviceBody = Type.Static<typeof RetireDeviceBody>;

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

export const AuditEvent = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  actor: Type.Object({ id: Id, name: Type.String() }),
  action: Type.String(),
  target: Type.String(),
  /** The target's name (current, else as recorded), null when it has none. */
  targetName: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
  /** Names of the ids in `details` that name objects (subscription, group, device, admin ids), for a readable before/after. */
  names: Type.Record(Type.String(), Type.String()),
});
export type AuditEvent = Type.Static<typeof AuditEvent>;

export const AuditQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  before: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Actor id (or exact actor name). */
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  /** Exact action (e.g. device.retire) or a prefix ending in '.' (e.g. device.). */
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  /** Target id. */
  target: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  /** Events at or after / before this time. */
  since: Type.Optional(Timestamp),
  until: Type.Optional(Timestamp),
}, { additionalProperties: false });
export type AuditQuery = Type.Static<typeof AuditQuery>;

/** `GET /devices`: a page, the filter's total, and the cursor of the next page (`after`), null on the last page. */
export const DeviceList = Type.Object({
  items: Type.Array(DeviceView),
  total: Type.Integer(),
  /** null: `total` was counted for this answer; a page by cursor: the time its walk's first page counted the `total` it repeats. */
  totalAsOf: Type.Union([Timestamp, Type.Null()]),
  next: Type.Union([Type.String(), Type.Null()]),
});
export type DeviceList = Type.Static<typeof DeviceList>;

/** Wrapper for list answers; `total` lets clients page. */
export function ListOf<T extends Type.TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), total: Type.Integer() });
}
