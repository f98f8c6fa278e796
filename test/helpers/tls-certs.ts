// Throwaway TLS material made by Debian's `openssl` for tests: a
// self-signed CA and a server certificate it signs (for 127.0.0.1 and
// localhost), in a temp dir that is 0700 from its creation (mkdtemp), each
// file then made 0600, keys and certificates alike: nothing here is ever
// readable by another user.
// openssl is part of every Debian install the tests run on; when it is
// missing the tests that need it fail (it is not optional like slapd).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OPENSSL = '/usr/bin/openssl';

function openssl(args: string[], cwd: string): void {
  const r = spawnSync(OPENSSL, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (${r.status}): ${r.stderr}`);
}

export interface TlsFiles {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  remove(): void;
}

/** A CA named `name` and a server certificate it signs, valid for 127.0.0.1 and localhost. */
export function makeTls(name: string): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), `devlic-tls-${name}-`));
  const f = (n: string) => join(dir, n);
  const made = (...files: string[]) => { for (const x of files) chmodSync(f(x), 0o600); };
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
    '-subj', `/CN=${name} test CA`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  made('ca.key', 'ca.pem');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  made('server.key', 'server.csr');
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n', { mode: 0o600 });
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf'], dir);
  made('server.pem', 'ca.srl');
  return { dir, caCert: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
