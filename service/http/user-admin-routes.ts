// The admin API for per-user licences (issue 16): user groups, their members,
// assigning user products' subscriptions, and each person's answer. Mounted
// by adminRoutes inside its scope, so the same token check applies: readers
// read, every change needs a global-admin and is audited by the licensing core.
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AnyApp } from './app.ts';
import { Deleted, ListOf, Ref } from '../../shared/schemas/admin.ts';
import { AssignUserGroupBody, CreateUserGroupBody, UpdateUserGroupBody, UserAssignment, UserGroup, UserGroupAdded, UserGroupUsersBody, UserLicence } from '../../shared/schemas/user-admin.ts';
import { normaliseSignInName } from '../../shared/sign-in.ts';
import type { Actor, LicensingContext } from '../licensing/context.ts';
import { addUsers, assignUserGroup, createUserGroup, deleteUserGroup, removeUsers, renameUserGroup, unassignUserGroup } from '../licensing/user-groups.ts';
import { resolveRef } from '../licensing/resolve.ts';
import { listUserAssignments, listUserGroups, userGroupPeople, userLicence } from '../licensing/user-views.ts';
import { UserGroupPeople, UserGroupPeopleQuery } from '../../shared/schemas/user-group-people.ts';
import { DevlicError } from '../../shared/errors.ts';
import { loadSignInDomains } from '../licensing/sign-in-domains.ts';
import type { DirectorySyncer } from '../directories/scheduler.ts';

export function userAdminRoutes(appIn: AnyApp, ctx: LicensingContext, actorOf: (req: FastifyRequest) => Actor, directories?: DirectorySyncer): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();
  const db = ctx.store;
  const s = <T extends object>(extra: T) => ({ tags: ['admin'], security: [{ admin: [] }], ...extra });
  const Params = Type.Object({ ref: Ref });

  app.get('/user-groups', { schema: s({ response: { 200: ListOf(UserGroup) } }) }, async () => {
    const items = await listUserGroups(db);
    return { items, total: items.length };
  });
  app.get('/user-groups/:ref', { schema: s({ params: Params, response: { 200: UserGroup } }) },
    async (req) => (await listUserGroups(db, await resolveRef(db, 'user group', req.params.ref)))[0]);
  app.post('/user-groups', { schema: s({ body: CreateUserGroupBody, response: { 201: UserGroup } }) }, async (req, reply) => {
    const b = req.body;
    if ((b.directory === undefined) !== (b.dn === undefined)) throw new DevlicError('BAD_REQUEST', 'a directory user group needs both directory and dn');
    const id = await createUserGroup(ctx, actorOf(req), b.name, b.directory !== undefined ? { ref: b.directory, dn: b.dn! } : undefined);
    // Filled by a first sync now; if the directory is down it stays empty and the error shows in `directories list` and `user-groups show`.
    if (b.directory !== undefined && directories) await directories.sync(b.directory, actorOf(req)).catch(() => {});
    reply.code(201);
    return (await listUserGroups(db, id))[0];
  });
  app.patch('/user-groups/:ref', { schema: s({ description: 'Renames a user group (its id, members, directory link and licence stay).', params: Params, body: UpdateUserGroupBody, response: { 200: UserGroup } }) },
    async (req) => (await listUserGroups(db, await renameUserGroup(ctx, actorOf(req), req.params.ref, req.body.name)))[0]);
  app.delete('/user-groups/:ref', {
    schema: s({ description: 'Deletes a user group and its member list (nobody loses a licence: refused with GROUP_HAS_LICENSES while a subscription is assigned to it; unassign first).', params: Params, response: { 200: Deleted } }),
  }, async (req) => ({ ...await deleteUserGroup(ctx, actorOf(req), req.params.ref), deleted: true as const }));
  app.get('/user-groups/:ref/users', {
    schema: s({ description: "One page of a user group's people in seat order, each with their current answer (as GET /users/NAME/license).", params: Params, querystring: UserGroupPeopleQuery, response: { 200: UserGroupPeople } }),
  }, async (req) => userGroupPeople(db, await resolveRef(db, 'user group', req.params.ref), req.query.limit ?? 50, req.query.offset ?? 0));
  app.post('/user-groups/:ref/users', { schema: s({ params: Params, body: UserGroupUsersBody, response: { 200: UserGroupAdded } }) }, async (req) => {
    const r = await addUsers(ctx, actorOf(req), req.params.ref, req.body.users);
    return { ...(await listUserGroups(db, r.id))[0]!, added: r.added };
  });
  app.post('/user-groups/:ref/users/remove', { schema: s({ params: Params, body: UserGroupUsersBody, response: { 200: UserGroup } }) },
    async (req) => (await listUserGroups(db, (await removeUsers(ctx, actorOf(req), req.params.ref, req.body.users, { confirm: req.body.confirm })).id))[0]);

  app.get('/user-licenses', { schema: s({ response: { 200: ListOf(UserAssignment) } }) }, async () => {
    const items = await listUserAssignments(db);
    return { items, total: items.length };
  });
  app.post('/user-licenses/assign', { schema: s({ body: AssignUserGroupBody, response: { 201: UserAssignment } }) }, async (req, reply) => {
    const id = await assignUserGroup(ctx, actorOf(req), req.body.subscription, req.body.userGroup);
    reply.code(201);
    return (await listUserAssignments(db)).find((a) => a.id === id)!;
  });
  app.post('/user-licenses/unassign', { schema: s({ body: AssignUserGroupBody, response: { 200: Type.Object({ id: Type.String(), subscription: Type.String(), userGroup: Type.String() }) } }) },
    async (req) => {
      const r = await unassignUserGroup(ctx, actorOf(req), req.body.subscription, req.body.userGroup, { confirm: req.body.confirm });
      return { id: r.id, subscription: r.sub, userGroup: r.group };
    });
  app.get('/users/:name/license', { schema: s({ params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 300 }) }), response: { 200: UserLicence } }) },
    // The person the name stands for (sign-in domain aliases applied): `CORP\alice` answers for alice@corp.example.com while CORP stands for it.
    async (req) => {
      const name = normaliseSignInName(req.params.name);
      return userLicence(db, (await loadSignInDomains(db)).person(name));
    });
}
