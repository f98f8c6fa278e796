// The admin API for sign-in domain aliases (issue 16, shared/sign-in-domains.ts):
// list, add (NetBIOS -> DNS) and remove. Mounted by adminRoutes inside its
// scope: readers list, a change needs a global-admin and is audited by the
// licensing core (service/licensing/sign-in-domains.ts).
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AnyApp } from './app.ts';
import { ListOf } from '../../shared/schemas/admin.ts';
import { AddSignInDomainBody, RemoveSignInDomainBody, SignInDomain, SignInDomainChange } from '../../shared/schemas/sign-in-domains.ts';
import type { Actor, LicensingContext } from '../licensing/context.ts';
import { addSignInDomain, listSignInDomains, removeSignInDomain } from '../licensing/sign-in-domains.ts';

export function signInDomainRoutes(appIn: AnyApp, ctx: LicensingContext, actorOf: (req: FastifyRequest) => Actor): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();
  const s = <T extends object>(extra: T) => ({ tags: ['admin'], security: [{ admin: [] }], ...extra });

  app.get('/sign-in-domains', { schema: s({ response: { 200: ListOf(SignInDomain) } }) }, async () => {
    const items = await listSignInDomains(ctx.store);
    return { items, total: items.length };
  });
  app.post('/sign-in-domains', {
    schema: s({ description: 'Says which DNS domain a NetBIOS domain stands for: `CORP\\alice` is then the person `alice@corp.example.com`. Names listed under both spellings become one person (`merged`).', body: AddSignInDomainBody, response: { 201: SignInDomainChange } }),
  }, async (req, reply) => {
    const r = await addSignInDomain(ctx, actorOf(req), req.body.netbios, req.body.dns, { confirm: req.body.confirm });
    reply.code(201);
    return r;
  });
  app.post('/sign-in-domains/:netbios/remove', {
    schema: s({
      description: 'Removes the alias: `NETBIOS\\user` is `user@netbios` again. Guarded by `confirm` while people are licensed in the DNS domain (they lose that licence on devices reporting the NetBIOS spelling).',
      params: Type.Object({ netbios: Type.String({ minLength: 1, maxLength: 64 }) }), body: RemoveSignInDomainBody, response: { 200: SignInDomainChange },
    }),
  }, async (req) => removeSignInDomain(ctx, actorOf(req), req.params.netbios, { confirm: req.body.confirm }));
}
