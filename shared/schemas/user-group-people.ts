// GET /v1/admin/user-groups/:ref/users (issue 16): one page of a user group's
// people, each with the answer the service gives them now, so the console
// reads a group's people in one request instead of one per person.
import Type from 'typebox';
import { UserLicence } from './user-admin.ts';

export const USER_GROUP_PEOPLE_MAX = 500;

export const UserGroupPeopleQuery = Type.Object({
  /** People per page; 50 when absent. */
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: USER_GROUP_PEOPLE_MAX })),
  /** Skip this many people, in seat order. */
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false });
export type UserGroupPeopleQuery = Type.Static<typeof UserGroupPeopleQuery>;

/** People in seat order (the order they joined), each answered exactly as GET /users/NAME/license answers them. */
export const UserGroupPeople = Type.Object({
  items: Type.Array(UserLicence),
  /** Everyone in the group. */
  total: Type.Integer(),
  offset: Type.Integer(),
  limit: Type.Integer(),
});
export type UserGroupPeople = Type.Static<typeof UserGroupPeople>;
