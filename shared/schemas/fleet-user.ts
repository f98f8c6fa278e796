// A signed-in user in the fleet view (issue 16): as the device reported them,
// plus the person the service takes them for (normalised, sign-in domain
// aliases applied: shared/sign-in-domains.ts). Its own file so that admin.ts
// can use it without an import cycle.
import Type from 'typebox';
import { ReportedUser } from './device.ts';

export const FleetUser = Type.Object({
  ...ReportedUser.properties,
  /** Absent when the reported name is no sign-in name (shared/sign-in.ts). */
  person: Type.Optional(Type.String()),
});
export type FleetUser = Type.Static<typeof FleetUser>;
