// The sealing of the active private key in the shared database's keyring
// (service/keyring-db.ts): only the site key it was sealed with opens it,
// and a sealed key moved to another kid, or altered by one bit, is refused
// with a message that says which file to copy, never read as a key.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openPrivateKey, sealPrivateKey } from '../../service/keyring-db.ts';

const PEM = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n';
const FILE = '/var/lib/devlic-server/site-key';

describe('keyring sealing', () => {
  const key = randomBytes(32);

  it('opens with the same site key and kid, and the sealed text holds no key material', () => {
    const sealed = sealPrivateKey(PEM, 'k1', key);
    expect(sealed).toMatch(/^enc:v1:[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('MC4CAQAwBQYDK2VwBCIEI');
    expect(openPrivateKey(sealed, 'k1', key, FILE)).toBe(PEM);
    // A fresh IV each time: two seals of one key differ.
    expect(sealPrivateKey(PEM, 'k1', key)).not.toBe(sealed);
  });

  it('refuses another site key, another kid, a flipped bit and unsealed text', () => {
    const sealed = sealPrivateKey(PEM, 'k1', key);
    expect(() => openPrivateKey(sealed, 'k1', randomBytes(32), FILE)).toThrow(/site-key.*is not the site key.*\[?/);
    expect(() => openPrivateKey(sealed, 'k2', key, FILE)).toThrow(/not the site key/);
    const [iv, tag, ct] = sealed.slice('enc:v1:'.length).split('.');
    const bytes = Buffer.from(ct, 'base64url');
    bytes[0] ^= 1;
    expect(() => openPrivateKey(`enc:v1:${iv}.${tag}.${bytes.toString('base64url')}`, 'k1', key, FILE)).toThrow(/not the site key/);
    expect(() => openPrivateKey(PEM, 'k1', key, FILE)).toThrow(/signing key k1 is damaged/);
    try {
      openPrivateKey(sealed, 'k1', randomBytes(32), FILE);
    } catch (e) {
      expect((e as { code: string }).code).toBe('CONFIG_INVALID');
    }
  });
});
