// The admin API: everything devlic-admin and the console do. Readers may use
// every GET; every change needs a global-admin token and is audited by the
// licensing core in the same transaction as the change.
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { AnyApp } from './app.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { API } from '../../shared/api.ts';
import { DevlicError } from '../../shared/errors.ts';
import { validate } from '../../shared/validate.ts';
import { Deleted, ListOf, Ref } from '../../shared/schemas/admin.ts';
import { CreateSubscriptionBody, Product, Subscription, UpdateSubscriptionBody } from '../../shared/schemas/subscriptions.ts';
import {
  CreateGroupBody, DeleteGroupBody, Group, GroupChildBody, GroupDevicesBody, GroupRuleBody, RulePreview,
  RulePreviewBody, UpdateGroupBody,
} from '../../shared/schemas/groups.ts';
import { AssignBody, Assignment, UnassignResult } from '../../shared/schemas/assignments.ts';
import {
  DeviceCsvQuery, DeviceDetail, DeviceList, DeviceListQuery, DeviceTagsBody, DeviceView, MergeDevicesBody, MergeResult,
  RetireDeviceBody, UpdateDeviceBody,
} from '../../shared/schemas/fleet.ts';
import { CreateEnrollTokenBody, EnrollToken } from '../../shared/schemas/enroll-tokens.ts';
import { Admin, CreateAdminBody, RevokeAdminBody } from '../../shared/schemas/admins.ts';
import { AuditEvent, AuditQuery } from '../../shared/schemas/audit.ts';
import type { Actor, LicensingContext } from '../licensing/context.ts';
import { authenticateAdmin, createAdmin, createEnrollToken, revokeAdmin, revokeEnrollToken } from '../licensing/access.ts';
import { assign, unassign } from '../licensing/assignments.ts';
import { tagDevice } from '../licensing/tags.ts';
import { previewRule } from '../licensing/rule-membership.ts';
import { addDevices, createGroup, deleteGroup, nestGroup, removeDevices, renameGroup, setGroupRule, unnestGroup } from '../licensing/groups.ts';
import { deleteDevice, restoreDevice, retireDevice } from '../licensing/lifecycle.ts';
import { devicesCsv } from '../licensing/csv.ts';
import type { AdminEvents } from './admin-events.ts';
import type { DirectorySyncer } from '../directories/scheduler.ts';
import { directoryRoutes } from './directory-routes.ts';
import { createSubscription, updateSubscription } from '../licensing/subscriptions.ts';
import { setDeviceDisabled } from '../licensing/devices.ts';
import { mergeDevices } from '../licensing/merge.ts';
import { resolveRef } from '../licensing/resolve.ts';
import * as views from '../licensing/views.ts';
import { userAdminRoutes } from './user-admin-routes.ts';
import { signInDomainRoutes } from './sign-in-domain-routes.ts';

declare module 'fastify' {
  interface FastifyRequest { actor?: Actor }
}

const RefParams = Type.Object({ ref: Ref });

/** The most rows one CSV export holds: the whole fleet of the largest deployments we plan for. */
const CSV_MAX_ROWS = 200_000;

function actorOf(req: FastifyRequest): Actor {
  return req.actor!;
}

export async function adminRoutes(appIn: AnyApp, deps: { ctx: LicensingContext; events?: AdminEvents; directories?: DirectorySyncer }): Promise<void> {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();
  const { ctx } = deps;
  const db = ctx.store;

  app.addHook('onRequest', async (req) => {
    const h = req.headers.authorization;
    if (!h || !h.startsWith('Bearer ')) {
      throw new DevlicError('UNAUTHENTICATED', 'missing admin token: send Authorization: Bearer <token> (devlic-admin --token or DEVLIC_ADMIN_TOKEN)');
    }
    const actor = await authenticateAdmin(ctx, h.slice(7).trim());
    if (!actor) throw new DevlicError('UNAUTHENTICATED', 'admin token is not valid for this service');
    // A POST that only reads (config.readOnly, e.g. a rule preview) is open to every admin who may read devices.
    const readOnly = req.method === 'GET' || req.method === 'HEAD' || (req.routeOptions.config as { readOnly?: boolean } | undefined)?.readOnly === true;
    if (!readOnly && actor.role !== 'global-admin') {
      throw new DevlicError('FORBIDDEN', `role '${actor.role}' may only read; this change needs a global-admin`);
    }
    req.actor = actor;
  });

  const s = <T extends object>(extra: T) => ({ tags: ['admin'], security: [{ admin: [] }], ...extra });
  const list = async <T>(items: Promise<T[]>) => { const all = await items; return { items: all, total: all.length }; };
  const now = () => ctx.now();

  app.get('/whoami', { schema: s({ response: { 200: Admin } }) }, async (req) => (await views.listAdmins(db, actorOf(req).id))[0]
    ?? { id: actorOf(req).id, name: actorOf(req).name, role: actorOf(req).role, createdAt: new Date(0).toISOString() });

  app.get('/products', { schema: s({ response: { 200: ListOf(Product) } }) }, async () => list(views.listProducts(db, now())));

  app.get('/subscriptions', { schema: s({ response: { 200: ListOf(Subscription) } }) }, async () => list(views.listSubscriptions(db, now())));
  app.get('/subscriptions/:ref', { schema: s({ params: RefParams, response: { 200: Subscription } }) },
    async (req) => (await views.listSubscriptions(db, now(), await resolveRef(db, 'subscription', req.params.ref)))[0]);
  app.post('/subscriptions', { schema: s({ body: CreateSubscriptionBody, response: { 201: Subscription } }) }, async (req, reply) => {
    const id = await createSubscription(ctx, actorOf(req), req.body);
    reply.code(201);
    return (await views.listSubscriptions(db, now(), id))[0];
  });
  app.patch('/subscriptions/:ref', { schema: s({ params: RefParams, body: UpdateSubscriptionBody, response: { 200: Subscription } }) },
    async (req) => (await views.listSubscriptions(db, now(), await updateSubscription(ctx, actorOf(req), req.params.ref, req.body)))[0]);

  app.get('/groups', { schema: s({ querystring: Type.Object({ q: Type.Optional(Type.String({ maxLength: 128 })) }), response: { 200: ListOf(Group) } }) },
    async (req) => list(views.listGroups(db, { q: req.query.q })));
  app.get('/groups/:ref', { schema: s({ params: RefParams, response: { 200: Group } }) },
    async (req) => (await views.listGroups(db, { id: await resolveRef(db, 'group', req.params.ref), withMembers: true }))[0]);
  app.post('/groups', { schema: s({ body: CreateGroupBody, response: { 201: Group } }) }, async (req, reply) => {
    const b = req.body;
    if ((b.directory === undefined) !== (b.dn === undefined)) throw new DevlicError('BAD_REQUEST', 'a directory group needs both directory and dn');
    const id = await createGroup(ctx, actorOf(req), b.name, b.parent, b.rule, b.directory !== undefined ? { ref: b.directory, dn: b.dn! } : undefined);
    // A directory group is filled by a first sync now; if the directory is down it stays empty and the error shows in `directories list`.
    if (b.directory !== undefined && deps.directories) await deps.directories.sync(b.directory, actorOf(req)).catch(() => {});
    reply.code(201);
    return (await views.listGroups(db, { id }))[0];
  });
  app.post('/groups/preview', {
    config: { readOnly: true },
    schema: s({ description: 'How many devices in service a rule matches now; changes nothing (RULE_INVALID for a bad rule). Open to readers: it reads only.', body: RulePreviewBody, response: { 200: RulePreview } }),
  },
    async (req) => previewRule(db, req.body.rule));
  app.patch('/groups/:ref', { schema: s({ description: 'Renames a group.', params: RefParams, body: UpdateGroupBody, response: { 200: Group } }) },
    async (req) => (await views.listGroups(db, { id: await renameGroup(ctx, actorOf(req), req.params.ref, req.body.name) }))[0]);
  app.delete('/groups/:ref', {
    schema: s({
      description: 'Deletes a group (its memberships and nestings go with it). Refused with GROUP_HAS_LICENSES while a subscription is assigned to it or to a group nested in it; guarded by `confirm` when devices would go read-only (a group nested in a licensed one). The body is optional.',
      // The body is optional (a DELETE often has none), so it is checked here rather than by the route schema.
      params: RefParams, response: { 200: Deleted },
    }),
  }, async (req) => {
    const body = req.body === undefined || req.body === null ? {} : validate(DeleteGroupBody, req.body, 'request body');
    return { ...await deleteGroup(ctx, actorOf(req), req.params.ref, body.confirm === true), deleted: true as const };
  });
  const groupAction = (path: string, fn: (actor: Actor, ref: string, body: any) => Promise<string>, body: typeof GroupDevicesBody | typeof GroupChildBody | typeof GroupRuleBody) =>
    app.post(path, { schema: s({ params: RefParams, body, response: { 200: Group } }) },
      async (req) => (await views.listGroups(db, { id: await fn(actorOf(req), (req.params as any).ref, req.body) }))[0]);
  groupAction('/groups/:ref/devices', (a, ref, b) => addDevices(ctx, a, ref, b.devices, b.confirm === true), GroupDevicesBody);
  groupAction('/groups/:ref/devices/remove', (a, ref, b) => removeDevices(ctx, a, ref, b.devices, b.confirm === true), GroupDevicesBody);
  groupAction('/groups/:ref/children', (a, ref, b) => nestGroup(ctx, a, ref, b.group, b.confirm === true), GroupChildBody);
  // Sets or replaces the rule: members become the matching devices (RULE_INVALID: nothing changed; guarded by confirm).
  groupAction('/groups/:ref/rule', (a, ref, b) => setGroupRule(ctx, a, ref, b.rule, b.confirm === true), GroupRuleBody);
  groupAction('/groups/:ref/children/remove', (a, ref, b) => unnestGroup(ctx, a, ref, b.group, b.confirm === true), GroupChildBody);

  userAdminRoutes(app, ctx, actorOf, deps.directories);
  signInDomainRoutes(app, ctx, actorOf);

  app.get('/licenses', { schema: s({ response: { 200: ListOf(Assignment) } }) }, async () => list(views.listAssignments(db)));
  app.post('/licenses/assign', { schema: s({ body: AssignBody, response: { 201: Assignment } }) }, async (req, reply) => {
    const id = await assign(ctx, actorOf(req), req.body.subscription, req.body.group, req.body.confirm === true);
    reply.code(201);
    return (await views.listAssignments(db, id))[0];
  });
  app.post('/licenses/unassign', { schema: s({ body: AssignBody, response: { 200: UnassignResult } }) }, async (req) => {
    const r = await unassign(ctx, actorOf(req), req.body.subscription, req.body.group, req.body.confirm === true);
    const sub = (await db.subscriptions.ref(r.sub))!;
    const group = (await db.groups.ref(r.group))!;
    return { id: r.id, subscription: sub, group, devicesAffected: r.devicesAffected };
  });

  // Raw hardware identifiers are for global-admins only; readers get short hashes.
  const rawFacts = (req: FastifyRequest) => actorOf(req).role === 'global-admin';
  app.get('/devices', { schema: s({ querystring: DeviceListQuery, response: { 200: DeviceList } }) },
    async (req) => views.listDevices(db, req.query, now()));
  app.get('/devices/:ref', { schema: s({ params: RefParams, response: { 200: DeviceDetail } }) },
    async (req) => views.getDevice(db, await resolveRef(db, 'device', req.params.ref), { rawFacts: rawFacts(req) }));
  app.patch('/devices/:ref', { schema: s({ params: RefParams, body: UpdateDeviceBody, response: { 200: DeviceView } }) }, async (req) => {
    const id = await setDeviceDisabled(ctx, actorOf(req), req.params.ref, req.body.disabled, req.body.confirm === true);
    return views.getDevice(db, id, { rawFacts: rawFacts(req) });
  });
  for (const [path, remove] of [['/devices/:ref/tags', false], ['/devices/:ref/tags/remove', true]] as const) {
    app.post(path, { schema: s({ params: RefParams, body: DeviceTagsBody, response: { 200: DeviceDetail } }) }, async (req) => {
      const id = await tagDevice(ctx, actorOf(req), req.params.ref, req.body.tags, remove, req.body.confirm === true);
      return views.getDevice(db, id, { rawFacts: rawFacts(req) });
    });
  }
  app.get('/devices.csv', {
    schema: s({ description: 'Every device matching the filters as CSV (RFC 4180, header row; cells that a spreadsheet would run as a formula are prefixed with \').', querystring: DeviceCsvQuery }),
  }, async (req, reply) => {
    const rows = await views.listDevices(db, { ...req.query, limit: CSV_MAX_ROWS, offset: 0 }, now());
    reply.header('Content-Type', 'text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="devlic-devices-${new Date(now()).toISOString().slice(0, 10)}.csv"`)
      .header('Cache-Control', 'no-store');
    return devicesCsv(rows.items);
  });
  app.post('/devices/:ref/retire', {
    schema: s({
      description: 'Retires a device: it loses its seat at once (the next device in allocation order gets it), leaves its rule groups, and its agent gets an unlicensed entitlement with reason DEVICE_RETIRED. Guarded by `confirm`.',
      params: RefParams, body: RetireDeviceBody, response: { 200: DeviceDetail },
    }),
  }, async (req) => views.getDevice(db, await retireDevice(ctx, actorOf(req), req.params.ref, req.body.confirm === true), { rawFacts: rawFacts(req) }));
  app.post('/devices/:ref/restore', {
    schema: s({
      description: 'Undoes a retire. Guarded by `confirm`: the device takes its old place in the seat order of the groups it was added to by hand (rule groups it matches take it in as their newest member), which can take the seat of the device that got it meanwhile.',
      params: RefParams, body: RetireDeviceBody, response: { 200: DeviceDetail },
    }),
  }, async (req) => views.getDevice(db, await restoreDevice(ctx, actorOf(req), req.params.ref, req.body.confirm === true), { rawFacts: rawFacts(req) }));
  app.delete('/devices/:ref', { schema: s({ description: 'Forgets a retired device (DEVICE_NOT_RETIRED otherwise); its agent is refused from then on.', params: RefParams, response: { 200: Deleted } }) },
    async (req) => {
      const r = await deleteDevice(ctx, actorOf(req), req.params.ref);
      return { ...r, deleted: true as const };
    });
  app.post('/devices/:ref/merge', {
    schema: s({
      description: 'Merges device `from` (enrolled anew after its key was lost) into device `:ref`: `:ref` keeps its id, groups, seat and history and takes the key and facts of `from`, which is retired.',
      params: RefParams, body: MergeDevicesBody, response: { 200: MergeResult },
    }),
  }, async (req) => {
    const r = await mergeDevices(ctx, actorOf(req), req.body.from, req.params.ref, req.body.force === true);
    return { id: r.id, retired: r.retired, device: await views.getDevice(db, r.id, { rawFacts: true }) };
  });

  app.get('/enroll-tokens', { schema: s({ response: { 200: ListOf(EnrollToken) } }) }, async () => list(views.listEnrollTokens(db, undefined, now())));
  app.post('/enroll-tokens', { schema: s({ body: CreateEnrollTokenBody, response: { 201: EnrollToken } }) }, async (req, reply) => {
    const { id, token } = await createEnrollToken(ctx, actorOf(req), req.body);
    reply.code(201);
    return { ...(await views.listEnrollTokens(db, id, now()))[0], token };
  });

  app.post('/enroll-tokens/:ref/revoke', { schema: s({ description: 'Revokes an enrollment token: it enrolls nothing from now on.', params: RefParams, body: Type.Object({}, { additionalProperties: false }), response: { 200: EnrollToken } }) },
    async (req) => (await views.listEnrollTokens(db, await revokeEnrollToken(ctx, actorOf(req), req.params.ref), now()))[0]);

  app.get('/admins', { schema: s({ response: { 200: ListOf(Admin) } }) }, async () => list(views.listAdmins(db)));
  app.post('/admins', { schema: s({ body: CreateAdminBody, response: { 201: Admin } }) }, async (req, reply) => {
    const { id, token } = await createAdmin(ctx, actorOf(req), req.body.role, req.body.name);
    reply.code(201);
    return { ...(await views.listAdmins(db, id))[0], token };
  });

  app.post('/admins/:ref/revoke', {
    schema: s({
      description: 'Revokes an admin token: 401 from the next request on, and its open event streams are closed. The last global-admin cannot be revoked (LAST_GLOBAL_ADMIN).',
      params: RefParams, body: RevokeAdminBody, response: { 200: Admin },
    }),
  }, async (req) => {
    const id = await revokeAdmin(ctx, actorOf(req), req.params.ref);
    return (await views.listAdmins(db, id))[0];
  });

  if (deps.directories) directoryRoutes(app, ctx, deps.directories, s, actorOf);

  app.get('/audit', { schema: s({ querystring: AuditQuery, response: { 200: ListOf(AuditEvent) } }) },
    async (req) => views.listAudit(db, req.query));
}

export const ADMIN_PREFIX = API.admin;
