// The pure half of directory user groups (issue 16): which sign-in name a
// user object stands for (userPrincipalName, else sAMAccountName@<DC parts of
// its DN>, else mail; a bad value reported, never repaired or replaced by the
// next attribute), and the walk over nested groups (cycles end, each DN read
// once, computers and other entries left out, dangling members counted).
import { describe, expect, it } from 'vitest';
import { dnsDomainOf, signInNameOf, walkUsers, type UserDirEntry, type UserObject } from '../../service/directories/user-walk.ts';

const u = (dn: string, a: Partial<Omit<UserObject, 'dn'>> = {}): UserObject => ({ dn, upn: null, sam: null, mail: null, ...a });

describe('dnsDomainOf', () => {
  it.each([
    ['CN=Alice,OU=Staff,DC=corp,DC=example', 'corp.example'],
    ['cn=a, ou=x, dc=Example , dc=Test', 'Example.Test'],
    ['CN=Smith\\, John,DC=corp,DC=example', 'corp.example'],
    ['cn=a,o=Example', null],
    ['cn=a,dc=,dc=x', null],
  ])('%s -> %s', (dn, want) => expect(dnsDomainOf(dn)).toBe(want));
});

describe('signInNameOf', () => {
  it.each<[string, UserObject, ReturnType<typeof signInNameOf>]>([
    ['UPN first, normalised', u('cn=a,dc=corp,dc=example', { upn: ' Alice@Corp.Example ', sam: 'x', mail: 'y@z' }), { ok: true, name: 'alice@corp.example', from: 'userPrincipalName' }],
    ['sAMAccountName + the DN\'s domain', u('CN=Bob,OU=Staff,DC=Corp,DC=Example', { sam: 'Bob' }), { ok: true, name: 'bob@corp.example', from: 'sAMAccountName' }],
    ['mail last', u('cn=c,o=x', { mail: 'Carol@Example.Test' }), { ok: true, name: 'carol@example.test', from: 'mail' }],
    ['an empty UPN counts as none', u('cn=c,dc=x', { upn: '  ', sam: 'c' }), { ok: true, name: 'c@x', from: 'sAMAccountName' }],
    ['a bad UPN is reported, the mail is not tried', u('cn=d,dc=x', { upn: 'd:x@corp', mail: 'd@corp' }),
      { ok: false, value: 'd:x@corp', error: "userPrincipalName: sign-in name contains ':', which account names cannot hold" }],
    ['a bad sAMAccountName', u('cn=e,dc=x', { sam: 'e*' }), { ok: false, value: 'e*@x', error: "sAMAccountName: sign-in name contains '*', which account names cannot hold" }],
    ['sAMAccountName without DC parts', u('cn=f,o=x', { sam: 'f' }), { ok: false, value: 'f', error: expect.stringContaining('no DC= parts') as never }],
    ['nothing to go by', u('cn=g,dc=x'), { ok: false, value: null, error: 'no userPrincipalName, sAMAccountName or mail' }],
    ['a mail with two @', u('cn=h,dc=x', { mail: 'a@b@c' }), { ok: false, value: 'a@b@c', error: expect.stringMatching(/^mail: /) as never }],
  ])('%s', (_name, user, want) => expect(signInNameOf(user)).toEqual(want));
});

describe('walkUsers', () => {
  function dir(entries: Record<string, UserDirEntry>) {
    const reads: string[] = [];
    return { reads, read: async (dn: string) => { reads.push(dn); return entries[dn.toLowerCase()] ?? null; } };
  }

  it('follows nested groups once each (a cycle ends), takes users found in bulk without a read, skips computers and others, counts dangling members', async () => {
    const alice = u('cn=alice,ou=p,dc=x', { upn: 'alice@x' });
    const bob = u('cn=bob,ou=p,dc=x', { upn: 'bob@x' });
    const d = dir({
      'cn=root,dc=x': { kind: 'group', members: ['CN=Alice, OU=p, DC=x', 'cn=bob,ou=p,dc=x', 'cn=sub,dc=x', 'cn=pc,dc=x', 'cn=gone,dc=x', 'cn=contact,dc=x'] },
      'cn=sub,dc=x': { kind: 'group', members: ['cn=root,dc=x', 'cn=alice,ou=p,dc=x', 'cn=sub,dc=x'] },
      'cn=bob,ou=p,dc=x': { kind: 'user', user: bob },
      'cn=pc,dc=x': { kind: 'other' },
      'cn=contact,dc=x': { kind: 'other' },
    });
    const w = await walkUsers('cn=root,dc=x', new Map([['cn=alice,ou=p,dc=x', alice]]), d.read);
    expect(w.users).toEqual([alice, bob]);
    expect(w.groups).toBe(2);
    expect(w.dangling).toBe(1);
    // Alice came from the bulk search; every other DN was read exactly once.
    expect(d.reads.sort()).toEqual(['cn=bob,ou=p,dc=x', 'cn=contact,dc=x', 'cn=gone,dc=x', 'cn=pc,dc=x', 'cn=root,dc=x', 'cn=sub,dc=x']);
  });

  it('fails (DIRECTORY_FAILED) when the group is missing or is no group', async () => {
    await expect(walkUsers('cn=none,dc=x', new Map(), dir({}).read)).rejects.toMatchObject({ code: 'DIRECTORY_FAILED' });
    await expect(walkUsers('cn=u,dc=x', new Map(), dir({ 'cn=u,dc=x': { kind: 'user', user: u('cn=u,dc=x') } }).read)).rejects.toMatchObject({ code: 'DIRECTORY_FAILED', message: expect.stringContaining('is not a group') });
  });
});
