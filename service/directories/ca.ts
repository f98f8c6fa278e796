// Pure: the CA certificate(s) an admin gives for a directory's TLS (ldaps://
// or StartTLS), checked before anything is stored: PEM blocks only, each a
// certificate Node can parse. A bad file is refused (DIRECTORY_SETTINGS_INVALID) with the
// reason, so a typo never reaches a sync as a TLS failure. Also the short
// description `directories list` and the audit log show instead of the PEM.
import { X509Certificate } from 'node:crypto';
import { DevlicError } from '../../shared/errors.ts';
import type { DirectoryCa } from '../../shared/schemas/directories.ts';

const BLOCK = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM text, in order; DIRECTORY_SETTINGS_INVALID names what is wrong. */
export function parseCaPem(pem: string, what = 'the CA certificate'): X509Certificate[] {
  const blocks = pem.match(BLOCK) ?? [];
  if (blocks.length === 0) throw new DevlicError('DIRECTORY_SETTINGS_INVALID', `${what} holds no PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)`);
  const rest = pem.replace(BLOCK, '').trim();
  if (rest !== '') throw new DevlicError('DIRECTORY_SETTINGS_INVALID', `${what} holds something besides PEM certificates (a private key or other text): give the CA certificate only`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new DevlicError('DIRECTORY_SETTINGS_INVALID', `${what}: certificate ${i + 1} cannot be read (${(e as Error).message})`);
    }
  });
}

/** What is shown of a stored CA: the first certificate's subject, fingerprint and expiry, and how many there are. */
export function describeCa(pem: string): DirectoryCa {
  const certs = parseCaPem(pem);
  const c = certs[0]!;
  return { subject: c.subject.replace(/\n/g, ', '), fingerprint256: c.fingerprint256, validTo: c.validTo, certificates: certs.length };
}
