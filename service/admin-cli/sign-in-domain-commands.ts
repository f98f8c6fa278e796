// devlic-admin's `sign-in-domains` commands (issue 16): which DNS domain a
// NetBIOS domain stands for, so that `CORP\alice` reported by a Windows
// device and `alice@corp.example.com` in a user group are one person. Names
// are sent as typed: the service checks them (SIGN_IN_DOMAIN_INVALID), so
// the CLI and the API cannot disagree about a name.
import { API } from '../../shared/api.ts';
import type { AddSignInDomainBody, RemoveSignInDomainBody, SignInDomain, SignInDomainChange } from '../../shared/schemas/sign-in-domains.ts';
import { seg, take } from './arguments.ts';
import { cmd, guarded, list, type CommandSpec } from './command-spec.ts';
import { formatTable, formatTime, sanitize } from './table.ts';
import type { ListAnswer } from './render.ts';

const A = API.admin;

export function renderSignInDomains(l: ListAnswer<SignInDomain>): string {
  if (l.items.length === 0) return "No sign-in domain aliases: DOMAIN\\user is user@domain (add one with 'devlic-admin sign-in-domains add NETBIOS DNS').\n";
  return formatTable(['NETBIOS', 'DNS DOMAIN', 'CHANGED'], l.items.map((d) => [d.netbios.toUpperCase(), d.dns, formatTime(d.changedAt)]));
}

export function renderSignInDomainAdded(c: SignInDomainChange): string {
  let out = `${sanitize(c.netbios.toUpperCase())}\\user is now the person user@${sanitize(c.dns)}.\n`;
  if (c.merged.length) {
    out += `\nNames listed under both spellings are now one person (${c.merged.length}):\n`;
    out += formatTable(['LISTED AS', 'IS NOW'], c.merged.map((m) => [m.from, m.into]));
  }
  return out;
}

export function renderSignInDomainRemoved(c: SignInDomainChange): string {
  return `${sanitize(c.netbios.toUpperCase())}\\user is user@${sanitize(c.netbios)} again, no longer user@${sanitize(c.dns)}.\n`;
}

export const SIGN_IN_DOMAIN_COMMANDS: CommandSpec[] = [
  list('sign-in-domains list', '/sign-in-domains', 'List which DNS domain each NetBIOS domain stands for in sign-in names', renderSignInDomains),
  cmd({
    name: 'sign-in-domains add', args: 'NETBIOS DNS', summary: 'Say that NETBIOS\\user is the person user@DNS (e.g. CORP corp.example.com)', answer: 'object',
    details: [
      'devlic never guesses this: without an alias CORP\\alice is alice@corp, another person than alice@corp.example.com.',
      'People licensed as user@DNS then keep their user licence on devices that report NETBIOS\\user.',
      'Names listed under both spellings become one person holding one seat; they are listed in the answer.',
    ],
    build(a) {
      const [netbios, dns] = take(a, ['NETBIOS', 'DNS']);
      const body: AddSignInDomainBody = { netbios, dns };
      return { method: 'POST', path: `${A}/sign-in-domains`, body };
    },
    render: renderSignInDomainAdded,
  }),
  guarded({
    name: 'sign-in-domains remove', args: 'NETBIOS', summary: 'Remove an alias: NETBIOS\\user is user@netbios again', answer: 'object',
    details: ['People licensed as user@DNS lose that licence on devices that report NETBIOS\\user (a device licence still covers them).'],
    build(a) {
      const body: RemoveSignInDomainBody = {};
      return { method: 'POST', path: `${A}/sign-in-domains/${seg(take(a, ['NETBIOS'])[0])}/remove`, body };
    },
    render: renderSignInDomainRemoved,
  }),
];
