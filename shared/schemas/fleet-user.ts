// A signed-in user in the fleet view (issue 16): as the device reported them,
// plus the person the service takes them for where a sign-in domain alias
// makes the reported name another spelling (shared/sign-in-domains.ts). Its own file so that admin.ts
// can use it without an import cycle.
import Type from 'typebox';
import { ReportedUser } from './device.ts';

export const FleetUser = Type.Object({
  ...ReportedUser.properties,
  /** Present only when an alias maps the reported name (`CORP\alice`) to another person (`alice@corp.example.com`). */
  person: Type.Optional(Type.String()),
});
export type FleetUser = Type.Static<typeof FleetUser>;
