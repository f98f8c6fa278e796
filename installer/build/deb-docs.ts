// What Debian policy wants in every binary package besides the program:
// /usr/share/doc/<pkg>/copyright (machine-readable, DEP-5), changelog.gz
// (a native package's Debian changelog), the Maintainer field, and lintian
// overrides for the findings a Node single executable cannot avoid. Pure:
// text in, text out; deb.ts reads the licence files and writes the package.
import { UsageError } from '../../shared/cli.ts';

/** Who answers for the package. Organisations that rebuild it set DEVLIC_DEB_MAINTAINER to their own contact. */
export const DEFAULT_MAINTAINER = 'devlic maintainers <maintainers@devlic.example.org>';

/** `Name <user@host.tld>` on one line, as Debian's Maintainer field and changelog trailer need. */
export function maintainerFrom(env: Record<string, string | undefined>): string {
  const m = env.DEVLIC_DEB_MAINTAINER?.trim() || DEFAULT_MAINTAINER;
  if (!/^[^<>\n,]+ <[^<>@\s,]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+>$/.test(m)) {
    throw new UsageError(`DEVLIC_DEB_MAINTAINER must look like 'Name <user@example.org>', not '${m}'`);
  }
  return m;
}

/** One npm package whose code esbuild put into the executable. */
export interface BundledPackage {
  name: string;
  version: string;
  license: string;
  /** Its LICENSE file, if it ships one. */
  text?: string;
}

export interface CopyrightInput {
  /** usr/lib/devlic/devlic-agent (no leading slash, as DEP-5 Files patterns are written). */
  exe: string;
  addon: string;
  nodeVersion: string;
  /** node's LICENSE: Node.js and every library compiled into it (V8, libuv, OpenSSL, ICU, zlib...). */
  nodeLicense: string;
  betterSqliteVersion: string;
  betterSqliteLicense: string;
  bundled: BundledPackage[];
}

/** Text as a DEP-5 field continuation: every line indented, empty lines as ' .'. */
export function continuation(text: string): string {
  return text.replace(/\r\n?/g, '\n').trimEnd().split('\n')
    .map((l) => (l.trim() === '' ? ' .' : ` ${l.replace(/\t/g, '    ').trimEnd()}`)).join('\n');
}

const APACHE_TERMS = /^[ \t]*TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION[\s\S]*?END OF TERMS AND CONDITIONS[ \t]*$/gm;

/**
 * Debian policy 12.5: licences every Debian system carries in
 * /usr/share/common-licenses are referred to, not copied. Node's LICENSE
 * quotes the Apache-2.0 terms five times (OpenSSL, V8's parts, ...).
 */
export function referToCommonLicenses(text: string): string {
  return text.replace(APACHE_TERMS, '    [The terms of the Apache License 2.0: /usr/share/common-licenses/Apache-2.0]');
}

export function copyright(c: CopyrightInput): string {
  const bundled = [...c.bundled].sort((a, b) => a.name.localeCompare(b.name));
  const list = bundled.map((p) => `${p.name} ${p.version} (${p.license})`).join('\n');
  const texts = bundled.map((p) => `---- ${p.name} ${p.version}: ${p.license} ----\n\n${p.text?.trim() || `(the package ships no licence file; package.json says ${p.license})`}`).join('\n\n');
  return [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: devlic',
    `Comment: ${c.exe} is a Node.js ${c.nodeVersion} single executable: the Node.js runtime`,
    ' with devlic\'s JavaScript and the npm packages it uses bundled inside.',
    ` ${c.addon} is the better-sqlite3 ${c.betterSqliteVersion} addon with SQLite built in.`,
    '',
    'Files: *',
    'Copyright: the devlic authors',
    'License: devlic',
    '',
    `Files: ${c.exe}`,
    'Copyright: Node.js contributors and the authors of the libraries compiled into Node.js;',
    ' the authors of the bundled npm packages listed in the Comment field',
    'License: Node.js-bundled',
    `Comment: npm packages bundled into the executable:\n${continuation(list)}`,
    '',
    `Files: ${c.addon}`,
    'Copyright: Joshua Wise and the better-sqlite3 contributors;',
    ' SQLite: D. Richard Hipp and others, dedicated to the public domain',
    'License: Expat and public-domain',
    '',
    'License: devlic',
    ' The devlic repository does not state a licence for its own code. Ask the',
    ' devlic maintainers before redistributing this package outside your organisation.',
    '',
    `License: Node.js-bundled\n${continuation(referToCommonLicenses(`${c.nodeLicense}\n\n${texts}`))}`,
    '',
    `License: Expat\n${continuation(c.betterSqliteLicense)}`,
    '',
    'License: public-domain',
    ' The author disclaims copyright to the SQLite source code. In place of a legal',
    ' notice, here is a blessing: May you do good and not evil. May you find',
    ' forgiveness for yourself and forgive others. May you share freely, never',
    ' taking more than you give.',
    '',
  ].join('\n');
}

/** The one changelog entry of a native package (Debian changelog format; gzipped by deb.ts). */
export function changelog(pkg: string, version: string, maintainer: string, date: Date): string {
  return `${pkg} (${version}) unstable; urgency=medium\n\n`
    + `  * devlic ${version}. What changed is in the devlic repository's history.\n\n`
    + ` -- ${maintainer}  ${rfc2822(date)}\n`;
}

/** SOURCE_DATE_EPOCH (reproducible builds) when set, else now. */
export function buildDate(env: Record<string, string | undefined>): Date {
  const e = env.SOURCE_DATE_EPOCH;
  if (e === undefined || e === '') return new Date();
  if (!/^\d+$/.test(e)) throw new UsageError(`SOURCE_DATE_EPOCH must be seconds since 1970, not '${e}'`);
  return new Date(Number(e) * 1000);
}

/** dpkg-parsechangelog's date format: 'Wed, 02 Dec 2026 18:00:00 +0000'. */
export function rfc2822(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000').replace(/^(\w{3}), (\d) /, '$1, 0$2 ');
}

/**
 * lintian overrides, each with the reason in a comment above it (lintian
 * shows the comment next to the overridden tag).
 */
export function lintianOverrides(pkg: string, exe: string): string {
  return [
    '# A Node single executable cannot be stripped: strip drops the segment postject',
    '# injected the application into, and the result segfaults at start (binutils 2.40).',
    `${pkg}: unstripped-binary-or-object [${exe}]`,
    '# zlib is compiled into the Node.js runtime (its own fork); the executable cannot use the system copy.',
    `${pkg}: embedded-library zlib [${exe}]`,
    '',
  ].join('\n');
}
