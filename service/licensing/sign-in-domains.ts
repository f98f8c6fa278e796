// Sign-in domain aliases (issue 16): an admin says which DNS domain a NetBIOS
// domain stands for, so `CORP\alice` reported by a device and
// `alice@corp.example.com` listed in a user group are one person. Each
// change is a global-admin change through ctx.mutate: audited, and people's
// licences recomputed in the same transaction (recompute-users.ts resolves
// every listed name through the table). Devices asking about any name in
// either domain are woken after commit (domainWildcards), since the person
// behind their asked name may have changed.
//
// An alias that makes two listed names one person (`alice@corp` and
// `alice@corp.example.com` both listed) is accepted and reported (`merged`
// in the answer and the audit event): the alias says they are the same
// account, and refusing would leave a directory-synced group, which cannot
// be edited by hand, blocking it. The merged person holds one seat.
import { DevlicError } from '../../shared/errors.ts';
import { domainWildcards, mergedBy, normaliseDnsDomain, normaliseNetbiosDomain, SignInDomains } from '../../shared/sign-in-domains.ts';
import type { SignInDomainChange, SignInDomain } from '../../shared/schemas/sign-in-domains.ts';
import type { Aggregates } from '../store/store.ts';
import type { Actor, LicensingContext } from './context.ts';

/** The whole table (one small read), for resolving names. */
export async function loadSignInDomains(q: Aggregates): Promise<SignInDomains> {
  return new SignInDomains(await q.signInDomains.all());
}

export async function listSignInDomains(q: Aggregates): Promise<SignInDomain[]> {
  return (await q.signInDomains.listed()).map((r) => ({ netbios: r.netbios, dns: r.dns_domain!, changedAt: r.changed_at }));
}

export function addSignInDomain(ctx: LicensingContext, actor: Actor, netbiosRaw: string, dnsRaw: string, opts: { confirm?: boolean } = {}): Promise<SignInDomainChange> {
  const netbios = normaliseNetbiosDomain(netbiosRaw);
  const dns = normaliseDnsDomain(dnsRaw);
  return ctx.mutate(actor, async (tx) => {
    const cur = await tx.signInDomains.get(netbios);
    if (cur?.dns_domain) {
      throw new DevlicError('SIGN_IN_DOMAIN_TAKEN', cur.dns_domain === dns
        ? `NetBIOS domain '${netbios}' already stands for '${dns}'`
        : `NetBIOS domain '${netbios}' already stands for '${cur.dns_domain}': remove that alias first ('devlic-admin sign-in-domains remove ${netbios}')`,
      { netbios, dns: cur.dns_domain });
    }
    const merged = mergedBy(netbios, dns, await tx.signInDomains.namesIn([netbios, dns]));
    await tx.signInDomains.set(netbios, dns, ctx.nowIso());
    tx.changed(domainWildcards(netbios, dns), 'user-entitlement');
    const result = { netbios, dns, merged };
    return { result, action: 'sign-in-domain.add', target: netbios, details: { netbios, dns, merged: merged.slice(0, 50), mergedCount: merged.length }, recompute: 'users' };
  }, opts);
}

/**
 * Devices reporting `NETBIOS\user` stop matching people licensed as
 * `user@dns`: they keep their licence under their DNS name, but not on such
 * devices. So, like every change that takes a licence, this is measured and
 * refused with CONFIRMATION_REQUIRED unless confirmed: the people counted
 * are those licensed in the DNS domain (each may be signed in somewhere as
 * NETBIOS\user; the service cannot know where). A row kept under a
 * NetBIOS spelling that loses its licence in the recompute is counted by
 * ctx.mutate as well.
 */
export function removeSignInDomain(ctx: LicensingContext, actor: Actor, netbiosRaw: string, opts: { confirm?: boolean } = {}): Promise<SignInDomainChange> {
  const netbios = normaliseNetbiosDomain(netbiosRaw);
  return ctx.mutate(actor, async (tx) => {
    const cur = await tx.signInDomains.get(netbios);
    if (!cur?.dns_domain) throw new DevlicError('NOT_FOUND', `NetBIOS domain '${netbios}' has no alias`, { netbios });
    const dns = cur.dns_domain;
    const licensed = await tx.signInDomains.licensedIn(dns);
    if (licensed.length > 0 && opts.confirm !== true) {
      const impact = { devices: 0, devicesGainingSeat: 0, sample: [], people: licensed.length, peopleGainingSeat: 0, peopleSample: licensed.slice(0, 20) };
      throw new DevlicError('CONFIRMATION_REQUIRED', `sign-in-domain.remove: ${licensed.length === 1 ? '1 person' : `${licensed.length} people`} licensed as user@${dns} (${licensed.slice(0, 3).join(', ')}${licensed.length > 3 ? ` and ${licensed.length - 3} more` : ''}) lose that licence on devices that report ${netbios.toUpperCase()}\\user; nothing was changed. Repeat with confirm: true (devlic-admin: --yes) to go ahead`,
        { impact });
    }
    await tx.signInDomains.set(netbios, null, ctx.nowIso());
    tx.changed(domainWildcards(netbios, dns), 'user-entitlement');
    return { result: { netbios, dns, merged: [] }, action: 'sign-in-domain.remove', target: netbios, details: { netbios, dns, licensedInDomain: licensed.length }, recompute: 'users' };
  }, opts);
}
