// Sign-in domain aliases (issue 16, shared/sign-in-domains.ts): NetBIOS
// domain -> DNS domain, as an admin set them. A removed alias keeps its row
// with dns_domain NULL so that its generation keeps growing (answerSeq).
import type { SqlConn } from '../sql.ts';
import type { SignInDomainAlias } from '../../../shared/sign-in-domains.ts';

export interface SignInDomainRow { netbios: string; dns_domain: string | null; generation: number; changed_at: string }

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (ch) => `\\${ch}`);

export function signInDomainQueries(c: SqlConn) {
  return {
    /** Names listed in a user group or holding an answer whose domain is one of these (the people an alias can merge). */
    async namesIn(domains: readonly string[]): Promise<string[]> {
      const like = domains.map(() => "user_name LIKE ? ESCAPE '\\'").join(' OR ');
      const args = domains.map((d) => `%@${likeEscape(d)}`);
      const rows = await c.all<{ user_name: string }>(`SELECT user_name FROM user_group_members WHERE ${like}
        UNION SELECT user_name FROM user_entitlements WHERE ${like}`, [...args, ...args]);
      return rows.map((r) => r.user_name);
    },
    /** People licensed under a name in this domain (what removing an alias to it takes from devices reporting the NetBIOS spelling). */
    async licensedIn(dns: string): Promise<string[]> {
      return (await c.all<{ user_name: string }>(`SELECT user_name FROM user_entitlements WHERE status = 'licensed' AND user_name LIKE ? ESCAPE '\\' ORDER BY user_name`,
        [`%@${likeEscape(dns)}`])).map((r) => r.user_name);
    },
    /** Every row, removed ones included (their generation counts). */
    async all(): Promise<SignInDomainAlias[]> {
      return (await c.all<SignInDomainRow>('SELECT netbios, dns_domain, generation, changed_at FROM sign_in_domains'))
        .map((r) => ({ netbios: r.netbios, dns: r.dns_domain, generation: Number(r.generation) }));
    },
    /** The aliases in force, by NetBIOS name. */
    listed(): Promise<SignInDomainRow[]> {
      return c.all('SELECT netbios, dns_domain, generation, changed_at FROM sign_in_domains WHERE dns_domain IS NOT NULL ORDER BY netbios');
    },
    get(netbios: string): Promise<SignInDomainRow | undefined> {
      return c.get('SELECT netbios, dns_domain, generation, changed_at FROM sign_in_domains WHERE netbios = ?', [netbios]);
    },
    /** Sets (dns) or removes (null) the alias; the generation grows either way. */
    async set(netbios: string, dns: string | null, at: string): Promise<void> {
      await c.run(`INSERT INTO sign_in_domains (netbios, dns_domain, generation, changed_at) VALUES (?, ?, 1, ?)
        ON CONFLICT (netbios) DO UPDATE SET dns_domain = excluded.dns_domain, generation = sign_in_domains.generation + 1, changed_at = excluded.changed_at`,
      [netbios, dns, at]);
    },
  };
}
export type SignInDomainQueries = ReturnType<typeof signInDomainQueries>;
