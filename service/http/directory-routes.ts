// The admin API's directory routes (added by admin-routes.ts, behind its
// admin-token check: reading needs any admin, every POST/DELETE a
// global-admin). The bind password only ever travels in the add and update
// requests.
import Type from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Deleted, ListOf, Ref } from '../../shared/schemas/admin.ts';
import { CreateDirectoryBody, Directory, DirectoryTest, SyncAnswer, UpdateDirectoryBody } from '../../shared/schemas/directories.ts';
import { DevlicError } from '../../shared/errors.ts';
import type { Actor, LicensingContext } from '../licensing/context.ts';
import { addDirectory, directoryByRef, directoryView, listDirectories, removeDirectory, updateDirectory } from '../directories/directories.ts';
import type { DirectorySyncer } from '../directories/scheduler.ts';
import { testDirectory } from '../directories/sync.ts';

const RefParams = Type.Object({ ref: Ref });

export function directoryRoutes(app: FastifyInstance<any, any, any, any, TypeBoxTypeProvider>, ctx: LicensingContext, syncer: DirectorySyncer,
  s: <T extends object>(extra: T) => T, actorOf: (req: any) => Actor): void {
  const db = ctx.store;
  app.get('/directories', { schema: s({ response: { 200: ListOf(Directory) } }) }, async () => {
    const items = await listDirectories(db);
    return { items, total: items.length };
  });
  app.get('/directories/:ref', { schema: s({ params: RefParams, response: { 200: Directory } }) },
    async (req) => (await listDirectories(db, req.params.ref))[0]);
  app.post('/directories', {
    schema: s({ description: 'Adds an LDAP / Active Directory connection; the bind password is stored sealed with the site key and never shown again.', body: CreateDirectoryBody, response: { 201: Directory } }),
  }, async (req, reply) => {
    const id = await addDirectory(ctx, syncer.box, actorOf(req), req.body);
    reply.code(201);
    return (await listDirectories(db, id))[0];
  });
  app.patch('/directories/:ref', {
    schema: s({
      description: 'Changes a directory\'s settings in place (its groups and members stay): URL, bind DN, password (sealed as at add, never shown), base DN, sync interval, CA certificate (null: the system\'s CAs), StartTLS. Bad settings: DIRECTORY_SETTINGS_INVALID (or a schema error), nothing changed; the same settings: CONFLICT. Memberships move at the next sync.',
      params: RefParams, body: UpdateDirectoryBody, response: { 200: Directory },
    }),
  }, async (req) => (await listDirectories(db, await updateDirectory(ctx, syncer.box, actorOf(req), req.params.ref, req.body)))[0]);
  app.post('/directories/:ref/test', {
    schema: s({ description: 'Binds and reads the base DN and its computer objects; for Active Directory also the forest\'s NetBIOS domains against the sign-in domain aliases (netbiosDomains: proposals only). Changes nothing (DIRECTORY_FAILED with the reason otherwise).', params: RefParams, body: Type.Object({}, { additionalProperties: false }), response: { 200: DirectoryTest } }),
  }, async (req) => testDirectory(await directoryByRef(db, req.params.ref), syncer.box, db));
  app.post('/directories/:ref/sync', {
    schema: s({ description: 'Syncs the directory\'s groups now, in one transaction with the recompute. A directory that is down or refuses the bind changes nothing: DIRECTORY_FAILED, and the error is kept for `GET /directories`.', params: RefParams, body: Type.Object({}, { additionalProperties: false }), response: { 200: SyncAnswer } }),
  }, async (req) => {
    const { row, result } = await syncer.sync(req.params.ref, actorOf(req));
    if (!result.ok) throw new DevlicError('DIRECTORY_FAILED', `${result.error}; nothing was changed`);
    return {
      directory: await directoryView(db, (await db.directories.byId(row.id))!), devicesChanged: result.devicesChanged, ambiguous: result.ambiguous.slice(0, 100),
      peopleChanged: result.peopleChanged, skippedUsers: result.skippedUsers.slice(0, 100),
    };
  });
  app.delete('/directories/:ref', { schema: s({ description: 'Removes a directory connection (DIRECTORY_IN_USE while a group follows it).', params: RefParams, response: { 200: Deleted } }) },
    async (req) => ({ ...await removeDirectory(ctx, actorOf(req), req.params.ref), deleted: true as const }));
}
