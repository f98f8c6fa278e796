// The pure TLS pieces of directory connections: which CA files are taken
// (service/directories/ca.ts) and the TLS options a login gets (ldap.ts
// tlsOptionsOf). The two fixture certificates in test/fixtures/tls are
// public CA certificates made once with openssl (valid to 2126); their keys
// were thrown away.
import { describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeCa, parseCaPem } from '../../service/directories/ca.ts';
import { tlsOptionsOf } from '../../service/directories/ldap.ts';

const fixture = (n: string) => readFileSync(join(import.meta.dirname, '../fixtures/tls', n), 'utf8');
const A = fixture('ca-a.pem');
const B = fixture('ca-b.pem');
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';

describe('parseCaPem', () => {
  it('takes one certificate, a bundle in order, CRLF line ends and text around blank lines', () => {
    expect(parseCaPem(A).map((c) => c.subject)).toEqual(['CN=fixture CA A\nO=devlic tests']);
    expect(parseCaPem(`${A}\n${B}`).map((c) => c.subject)).toEqual(['CN=fixture CA A\nO=devlic tests', 'CN=fixture CA B']);
    expect(parseCaPem(A.replace(/\n/g, '\r\n'))).toHaveLength(1);
    expect(parseCaPem(`\n\n${A}\n\n`)).toHaveLength(1);
  });

  it.each([
    ['empty', '', /holds no PEM certificate/],
    ['plain text', 'not a certificate', /holds no PEM certificate/],
    ['a private key alone', KEY, /holds no PEM certificate/],
    ['a certificate with its key', `${A}${KEY}`, /holds something besides PEM certificates \(a private key or other text\)/],
    ['a certificate with a comment', `# corp CA\n${A}`, /holds something besides PEM certificates/],
    ['a damaged certificate', A.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA'), /certificate 1 cannot be read/],
    ['a second damaged certificate', `${A}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`, /certificate 2 cannot be read/],
    ['a DER file read as text', new X509Certificate(A).raw.toString('latin1'), /holds no PEM certificate/],
  ])('refuses %s with DIRECTORY_SETTINGS_INVALID', (_what, pem, message) => {
    expect(() => parseCaPem(pem, '--ca-file x.pem')).toThrow(expect.objectContaining({ code: 'DIRECTORY_SETTINGS_INVALID', message: expect.stringMatching(message) }));
    expect(() => parseCaPem(pem, '--ca-file x.pem')).toThrow(/^--ca-file x\.pem/);
  });

  it('describes a stored CA by its first certificate, never by its PEM', () => {
    const d = describeCa(`${A}${B}`);
    expect(d).toEqual({ subject: 'CN=fixture CA A, O=devlic tests', fingerprint256: 'D3:0D:87:50:0A:80:1F:6A:D5:09:51:14:2A:B2:AF:D8:71:51:81:03:66:09:49:63:00:DD:F4:DC:D8:DC:1D:90', validTo: 'Nov  9 05:36:10 2126 GMT', certificates: 2 });
    expect(JSON.stringify(d)).not.toContain('BEGIN');
  });
});

describe('tlsOptionsOf', () => {
  const login = { bindDn: 'cn=r', password: 'p', baseDn: 'dc=x' };
  it('checks the certificate against the URL host: an IP without SNI, a name with it; the CA only when one is set', () => {
    expect(tlsOptionsOf({ ...login, url: 'ldaps://127.0.0.1:636' })).toEqual({ host: '127.0.0.1' });
    expect(tlsOptionsOf({ ...login, url: 'ldap://dc1.corp.example', ca: A })).toEqual({ host: 'dc1.corp.example', servername: 'dc1.corp.example', ca: [A] });
    expect(tlsOptionsOf({ ...login, url: 'ldaps://[::1]:636', ca: null })).toEqual({ host: '::1' });
    expect(tlsOptionsOf({ ...login, url: 'LDAPS://DC1.Corp.Example/' })).toEqual({ host: 'dc1.corp.example', servername: 'dc1.corp.example' });
  });
});
