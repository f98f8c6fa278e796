// Products and their subscriptions in the admin API: the seats bought, their
// term and status, and the request bodies that create or change them.
import Type from 'typebox';
import { Id, Name, Timestamp } from './common.ts';
import { Confirm } from './admin.ts';

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

export const UpdateSubscriptionBody = Type.Object({
  name: Type.Optional(Name),
  seats: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
  termEnd: Type.Optional(Type.Union([Timestamp, Type.Null()])),
  confirm: Confirm,
}, { additionalProperties: false, minProperties: 1 });
export type UpdateSubscriptionBody = Type.Static<typeof UpdateSubscriptionBody>;
