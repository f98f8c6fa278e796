// Assignments in the admin API: a subscription assigned to a device group,
// the body that assigns or unassigns one, and what an unassign took away.
import Type from 'typebox';
import { Id, Timestamp } from './common.ts';
import { Confirm, Ref } from './admin.ts';

/** Assign or unassign; both guarded (see Confirm). */
export const AssignBody = Type.Object({
  subscription: Ref,
  group: Ref,
  confirm: Confirm,
}, { additionalProperties: false });
export type AssignBody = Type.Static<typeof AssignBody>;

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
