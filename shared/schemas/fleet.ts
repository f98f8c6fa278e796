// The fleet as admins see it: one view per device (seat, mode, enforcement,
// users, retirement), the device detail, the list and CSV filters, and the
// request bodies that disable, tag, merge, retire or restore a device.
import Type from 'typebox';
import { EntitlementReason, Id, Mode, Timestamp } from './common.ts';
import { FleetUser } from './fleet-user.ts';
import { Confirm, Ref } from './admin.ts';

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
  users: Type.Array(FleetUser),
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
  users: Type.Array(FleetUser),
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

/** `GET /devices`: a page, the filter's total, and the cursor of the next page (`after`), null on the last page. */
export const DeviceList = Type.Object({
  items: Type.Array(DeviceView),
  total: Type.Integer(),
  /** null: `total` was counted for this answer; a page by cursor: the time its walk's first page counted the `total` it repeats. */
  totalAsOf: Type.Union([Timestamp, Type.Null()]),
  next: Type.Union([Type.String(), Type.Null()]),
});
export type DeviceList = Type.Static<typeof DeviceList>;
