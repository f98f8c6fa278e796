// The key-rotation trust rule (shared/keychain.ts), without processes: a
// device moves its pins forward only through links signed by its newest
// pinned key. Every way to smuggle a key in - a link from a key it never
// pinned, a broken or altered link, a fork, a loop, links replayed or
// shuffled, a link from an older (e.g. retired and leaked) key - is tried.
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { extendPins, signKeyLink } from '../../shared/keychain.ts';
import { generateSigningKey, publicJwk, signEntitlement, type SigningKey } from '../../shared/token.ts';
import { DevlicError } from '../../shared/errors.ts';
import type { Ed25519PublicJwk } from '../../shared/schemas/device.ts';
import { KEY_LINK_TYP } from '../../shared/schemas/keys.ts';

const ISS = 'urn:devlic:server:test';
const NOW = 1_750_000_000;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

const K = Array.from({ length: 5 }, () => generateSigningKey());
const jwk = (k: SigningKey) => publicJwk(k.publicKey, k.kid);
const link = async (from: SigningKey, to: SigningKey, iss = ISS) => signKeyLink(from, await jwk(to), iss, NOW);
const kids = (keys: { kid?: string }[]) => keys.map((k) => k.kid);

async function refused(p: Promise<unknown>, reason: string, message?: RegExp): Promise<void> {
  const e = await p.then(() => null, (x) => x);
  expect(e, 'the chain was accepted').toBeInstanceOf(DevlicError);
  expect((e as DevlicError).code).toBe('KEY_CHAIN_INVALID');
  expect((e as DevlicError).details?.reason).toBe(reason);
  if (message) expect((e as DevlicError).message).toMatch(message);
}

/** A JWS with a link's header and any payload, signed by `key` as it is. */
function rawLink(signer: SigningKey, payload: unknown, header: Record<string, unknown> = {}): string {
  const input = `${b64({ alg: 'EdDSA', kid: signer.kid, typ: KEY_LINK_TYP, ...header })}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), signer.privateKey).toString('base64url')}`;
}

describe('extendPins: what a good chain gives', () => {
  it('one rotation: the tip endorses the next key', async () => {
    const added = await extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [await link(K[0], K[1])], want: K[1].kid });
    expect(kids(added)).toEqual([K[1].kid]);
    expect(added[0]).toEqual({ ...(await jwk(K[1])), kid: K[1].kid });
  });

  it('several rotations in one walk (a device that was offline through them)', async () => {
    const links = [await link(K[0], K[1]), await link(K[1], K[2]), await link(K[2], K[3])];
    expect(kids(await extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links, want: K[3].kid }))).toEqual([K[1].kid, K[2].kid, K[3].kid]);
    // From the middle: the history before the tip is ignored.
    expect(kids(await extendPins({ pinned: [await jwk(K[0]), await jwk(K[1])], issuer: ISS, links, want: K[3].kid }))).toEqual([K[2].kid, K[3].kid]);
  });

  it('does not depend on the order of the links, nor on repeats', async () => {
    const l = [await link(K[0], K[1]), await link(K[1], K[2]), await link(K[2], K[3])];
    for (const links of [[l[2], l[1], l[0]], [l[1], l[2], l[0]], [l[0], l[0], l[2], l[1], l[2]]]) {
      expect(kids(await extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links }))).toEqual([K[1].kid, K[2].kid, K[3].kid]);
    }
  });

  it('nothing new: the tip is already the newest key, or there are no links', async () => {
    const links = [await link(K[0], K[1])];
    expect(await extendPins({ pinned: [await jwk(K[0]), await jwk(K[1])], issuer: ISS, links, want: K[1].kid })).toEqual([]);
    expect(await extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [] })).toEqual([]);
  });

  it('ignores things that are not links (noise, an entitlement token signed by the tip)', async () => {
    const ent = await signEntitlement(K[0], { iss: ISS } as never);
    const links = ['', 'garbage', 'a.b.c', ent, await link(K[0], K[1])];
    expect(kids(await extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links, want: K[1].kid }))).toEqual([K[1].kid]);
  });
});

describe('extendPins: what it refuses', () => {
  it('a key endorsed only by a key the device never pinned', async () => {
    const stranger = generateSigningKey();
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [await link(stranger, K[2])], want: K[2].kid }), 'NOT_ENDORSED', new RegExp(K[2].kid));
    // Nor when the stranger poses with the tip's kid: the signature is checked against the pinned key.
    const posing = { ...stranger, kid: K[0].kid };
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [await link(posing, K[2])] }), 'BAD_LINK', /does not verify/);
  });

  it('a key announced with no link at all', async () => {
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [], want: K[1].kid }), 'NOT_ENDORSED');
  });

  it('a broken link: signature bits flipped, payload swapped, header altered', async () => {
    const good = await link(K[0], K[1]);
    const [h, p, s] = good.split('.');
    const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [flipped] }), 'BAD_LINK');
    const evil = generateSigningKey();
    const swapped = `${h}.${b64({ iss: ISS, prev: K[0].kid, key: await jwk(evil), iat: NOW })}.${s}`;
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [swapped], want: evil.kid }), 'BAD_LINK');
    const reheaded = `${b64({ alg: 'EdDSA', kid: K[0].kid, typ: KEY_LINK_TYP, crit: [] })}.${p}.${s}`;
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [reheaded] }), 'BAD_LINK');
  });

  it('a genuine-looking link whose claims are wrong (other issuer, other signer named, no kid, extra fields)', async () => {
    const to = await jwk(K[1]);
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [await link(K[0], K[1], 'urn:devlic:server:other')] }), 'BAD_LINK', /issuer/);
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [rawLink(K[0], { iss: ISS, prev: K[4].kid, key: to, iat: NOW })] }), 'BAD_LINK', /names/);
    const { kid: _, ...noKid } = to;
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [rawLink(K[0], { iss: ISS, prev: K[0].kid, key: noKid, iat: NOW })] }), 'BAD_LINK', /malformed/);
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [rawLink(K[0], { iss: ISS, prev: K[0].kid, key: to, iat: NOW, admin: true })] }), 'BAD_LINK', /malformed/);
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [rawLink(K[0], 'not an object')] }), 'BAD_LINK');
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [rawLink(K[0], { iss: ISS, prev: K[0].kid, key: to, iat: NOW }, { alg: 'none' })] }), 'BAD_LINK');
  });

  it('a broken link later in the chain refuses the whole chain (all or nothing)', async () => {
    const bad = rawLink(K[1], { iss: 'urn:other', prev: K[1].kid, key: await jwk(K[2]), iat: NOW });
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [await link(K[0], K[1]), bad] }), 'BAD_LINK');
  });

  it('a fork: the tip endorsing two different keys (someone else holds a signing key)', async () => {
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [await link(K[0], K[1]), await link(K[0], K[2])] }), 'FORK');
  });

  it('a link re-dated (a replay with another iat) is the same endorsement, not a fork', async () => {
    const again = await signKeyLink(K[0], await jwk(K[1]), ISS, NOW + 999);
    expect(kids(await extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [await link(K[0], K[1]), again] }))).toEqual([K[1].kid]);
  });

  it('loops: back to the tip, back to an older pinned key, and a cycle among new keys', async () => {
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [await link(K[0], K[0])] }), 'LOOP');
    await refused(extendPins({ pinned: [await jwk(K[0]), await jwk(K[1])], issuer: ISS, links: [await link(K[1], K[0])] }), 'LOOP');
    await refused(extendPins({ pinned: [await jwk(K[0])], issuer: ISS, links: [await link(K[0], K[1]), await link(K[1], K[2]), await link(K[2], K[1])] }), 'LOOP');
    // The same public key under a new kid is a loop too.
    const renamed = { ...K[0], kid: 'renamed' };
    await refused(extendPins({ pinned: [await jwk(K[0]), await jwk(K[1])], issuer: ISS, links: [await link(K[1], renamed)] }), 'LOOP');
  });

  it('a link signed by an OLDER pinned key (say a retired, leaked one) cannot endorse anything', async () => {
    const evil = generateSigningKey();
    await refused(extendPins({ pinned: [await jwk(K[0]), await jwk(K[1])], issuer: ISS, links: [await link(K[0], evil)], want: evil.kid }), 'NOT_ENDORSED');
  });

  it('no pinned key to start from', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const { kid: _, ...noKid } = await publicJwk(publicKey) as Ed25519PublicJwk;
    await refused(extendPins({ pinned: [noKid], issuer: ISS, links: [await link(K[0], K[1])] }), 'NO_PINNED_KEY');
    await refused(extendPins({ pinned: [], issuer: ISS, links: [] }), 'NO_PINNED_KEY');
  });
});
