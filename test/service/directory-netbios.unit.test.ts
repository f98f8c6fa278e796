// netbios.ts without a directory: crossRef entries to (NetBIOS, DNS) pairs
// (normalised; invalid or partial entries left out, never guessed), each
// compared with the aliases in force; and how devlic-admin prints the test.
import { describe, expect, it } from 'vitest';
import type { Entry } from 'ldapts';
import { compareWithAliases, pairsOf } from '../../service/directories/netbios.ts';
import { renderDirectoryTest } from '../../service/admin-cli/directory-commands.ts';

const entry = (attrs: Record<string, string | string[] | Buffer>): Entry => ({ dn: 'cn=x,cn=Partitions,cn=Configuration,dc=corp', ...attrs });

describe('pairsOf', () => {
  it('normalises, sorts, and leaves out what is not a valid pair', () => {
    expect(pairsOf([
      entry({ nETBIOSName: 'LAB', dnsRoot: 'Lab.Corp.Example.com' }),
      entry({ netbiosname: Buffer.from('CORP'), DNSROOT: ['corp.example.com'] }),
      entry({ nETBIOSName: 'NODNS' }),
      entry({ dnsRoot: 'no-netbios.example.com' }),
      entry({ nETBIOSName: 'BAD NAME', dnsRoot: 'x.example.com' }),
      entry({ nETBIOSName: 'EVIL', dnsRoot: 'a b;rm -rf' }),
      entry({ nETBIOSName: 'corp', dnsRoot: 'corp.example.com' }),
    ])).toEqual([{ netbios: 'corp', dns: 'corp.example.com' }, { netbios: 'lab', dns: 'lab.corp.example.com' }]);
  });
});

describe('compareWithAliases', () => {
  it('says set, missing or other (with the alias in force)', () => {
    expect(compareWithAliases([{ netbios: 'corp', dns: 'corp.example.com' }, { netbios: 'lab', dns: 'lab.example.com' }, { netbios: 'old', dns: 'new.example.com' }],
      new Map([['corp', 'corp.example.com'], ['old', 'old.example.com']]))).toEqual([
      { netbios: 'corp', dns: 'corp.example.com', alias: 'set' },
      { netbios: 'lab', dns: 'lab.example.com', alias: 'missing' },
      { netbios: 'old', dns: 'new.example.com', alias: 'other', current: 'old.example.com' },
    ]);
  });
});

describe('renderDirectoryTest', () => {
  it('prints only the counts for a directory that is not AD', () => {
    expect(renderDirectoryTest({ ok: true, computers: 3, queries: 4 })).toBe('The directory answered: 3 computer objects under the base DN (4 LDAP requests).\n');
  });
  it('proposes the add command for each missing alias, and none for the others', () => {
    const out = renderDirectoryTest({ ok: true, computers: 1, queries: 6, netbiosDomains: [
      { netbios: 'corp', dns: 'corp.example.com', alias: 'missing' }, { netbios: 'lab', dns: 'lab.example.com', alias: 'set' },
    ] });
    expect(out).toContain('  devlic-admin sign-in-domains add corp corp.example.com\n');
    expect(out).not.toContain('add lab');
    expect(out).toMatch(/lab\s+lab\.example\.com\s+set/);
  });
  it('says so when AD answered but no NetBIOS name could be read', () => {
    expect(renderDirectoryTest({ ok: true, computers: 0, queries: 5, netbiosDomains: [] })).toContain('no NetBIOS domain names could be read');
  });
});
