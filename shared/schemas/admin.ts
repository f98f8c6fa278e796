// The small pieces every admin API aggregate shares: how an admin names an
// object (Ref), the two roles, the confirmation guard and the impact it
// reports, the answer to a delete and the list wrapper. The objects and
// request bodies themselves live per aggregate (subscriptions.ts, groups.ts,
// assignments.ts, fleet.ts, enroll-tokens.ts, admins.ts, audit.ts,
// directories.ts, user-admin.ts); `devlic-admin --json` prints them as they
// are. Every object has an `id`.
import Type from 'typebox';
import { Id } from './common.ts';

/** A reference typed by an admin: an id or a unique name. */
export const Ref = Type.String({ minLength: 1, maxLength: 128 });

export const Role = Type.Union([Type.Literal('global-admin'), Type.Literal('reader')]);
export type Role = Type.Static<typeof Role>;

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

/** The answer to a delete: what is gone. */
export const Deleted = Type.Object({
  id: Id,
  name: Type.String(),
  deleted: Type.Literal(true),
});
export type Deleted = Type.Static<typeof Deleted>;

/** Wrapper for list answers; `total` lets clients page. */
export function ListOf<T extends Type.TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), total: Type.Integer() });
}
