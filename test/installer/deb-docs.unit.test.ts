// The texts every devlic .deb carries besides the program (installer/build/deb-docs.ts):
// Maintainer, DEP-5 copyright, changelog, lintian overrides. Pure; the real
// lintian judges the built packages in lintian.test.ts.
import { describe, expect, it } from 'vitest';
import {
  buildDate, changelog, continuation, copyright, DEFAULT_MAINTAINER, lintianOverrides, maintainerFrom, referToCommonLicenses, rfc2822,
} from '../../installer/build/deb-docs.ts';
import { UsageError } from '../../shared/cli.ts';

/** DEP-5 paragraphs as field maps (continuation lines joined with '\n'). */
function paragraphs(text: string): Array<Record<string, string>> {
  return text.trimEnd().split(/\n\n/).map((para) => {
    const fields: Record<string, string> = {};
    let last = '';
    for (const line of para.split('\n')) {
      if (line.startsWith(' ')) fields[last] += `\n${line}`;
      else {
        const i = line.indexOf(':');
        last = line.slice(0, i);
        fields[last] = line.slice(i + 1).trim();
      }
    }
    return fields;
  });
}

const INPUT = {
  exe: 'usr/lib/devlic/devlic-agent', addon: 'usr/lib/devlic/better_sqlite3.node',
  nodeVersion: '24.21.0', nodeLicense: 'Node.js is licensed for use as follows:\n\n"""\nCopyright Node.js contributors.\n\n\tPermission is hereby granted\n"""\n',
  betterSqliteVersion: '13.2.0', betterSqliteLicense: 'MIT License\n\nCopyright (c) 2017 Joshua Wise\n',
  bundled: [
    { name: 'pino', version: '10.4.0', license: 'MIT', text: 'The MIT License (MIT)\nCopyright (c) 2016-2025 Matteo Collina' },
    { name: 'fastify', version: '5.12.8', license: 'MIT', text: 'MIT License\n\nCopyright (c) 2016-present The Fastify Team' },
    { name: 'no-file', version: '1.0.0', license: 'ISC' },
  ],
};

describe('maintainer', () => {
  it('defaults to a mail address lintian accepts and takes DEVLIC_DEB_MAINTAINER', () => {
    expect(maintainerFrom({})).toBe(DEFAULT_MAINTAINER);
    expect(DEFAULT_MAINTAINER).not.toMatch(/localhost/);
    expect(maintainerFrom({ DEVLIC_DEB_MAINTAINER: '  IT Desk <it@school.example.org> ' })).toBe('IT Desk <it@school.example.org>');
  });

  it('refuses what would break the control file or is no address', () => {
    for (const bad of ['it@school.org', 'IT <it@localhost>', 'IT <it@school.org>\nDepends: evil', 'IT <a@b.org>, Other <c@d.org>', 'IT <>']) {
      expect(() => maintainerFrom({ DEVLIC_DEB_MAINTAINER: bad }), bad).toThrow(UsageError);
    }
  });
});

describe('copyright (DEP-5)', () => {
  const text = copyright(INPUT);
  const paras = paragraphs(text);

  it('has the format header, a Files paragraph per shipped part and a License paragraph for each name used', () => {
    expect(paras[0]!.Format).toBe('https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/');
    const files = paras.filter((p) => 'Files' in p);
    expect(files.map((p) => p.Files)).toEqual(['*', INPUT.exe, INPUT.addon]);
    const used = new Set(files.flatMap((p) => p.License!.split(' and ')));
    const defined = new Set(paras.filter((p) => !('Files' in p) && 'License' in p).map((p) => p.License!.split('\n')[0]));
    expect([...used].sort()).toEqual([...defined].sort());
    for (const p of files) expect(p.Copyright, p.Files).toBeTruthy();
  });

  it('lists every bundled package sorted, with its licence text or a note that it ships none', () => {
    const exe = paras.find((p) => p.Files === INPUT.exe)!;
    expect(exe.Comment).toBe('npm packages bundled into the executable:\n fastify 5.12.8 (MIT)\n no-file 1.0.0 (ISC)\n pino 10.4.0 (MIT)');
    const body = paras.find((p) => !('Files' in p) && p.License?.startsWith('Node.js-bundled\n'))!.License!;
    expect(body).toContain(' Copyright (c) 2016-present The Fastify Team');
    expect(body).toContain(' (the package ships no licence file; package.json says ISC)');
    expect(body).toContain('     Permission is hereby granted'); // tab expanded
  });

  it('keeps every continuation line indented and no line empty (an empty line would end the paragraph)', () => {
    for (const para of text.trimEnd().split('\n\n')) {
      for (const line of para.split('\n')) expect(line.length, JSON.stringify(para.slice(0, 60))).toBeGreaterThan(0);
    }
    expect(continuation('a\n\n b\r\nc  \n\n')).toBe(' a\n .\n  b\n c');
  });

  it('refers to common-licenses for the Apache-2.0 terms instead of copying them', () => {
    const apache = 'Apache License\nVersion 2.0, January 2004\n\n   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION\n\n   1. Definitions.\n   END OF TERMS AND CONDITIONS\n\nAPPENDIX';
    const out = referToCommonLicenses(`before\n${apache}\nbetween\n${apache}\nafter`);
    expect(out).not.toMatch(/TERMS AND CONDITIONS FOR USE|1\. Definitions/);
    expect(out.match(/\/usr\/share\/common-licenses\/Apache-2\.0/g)).toHaveLength(2);
    expect(out).toMatch(/^before\n[\s\S]*between[\s\S]*after$/);
    expect(referToCommonLicenses('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION but never ended')).toContain('never ended');
  });
});

describe('changelog', () => {
  it('is one entry in the format dpkg-parsechangelog reads', () => {
    const d = new Date(Date.UTC(2026, 11, 2, 18, 5, 9));
    expect(rfc2822(d)).toBe('Wed, 02 Dec 2026 18:05:09 +0000');
    expect(changelog('devlic-agent', '0.1.0', 'IT <it@x.org>', d)).toMatch(
      /^devlic-agent \(0\.1\.0\) unstable; urgency=medium\n\n  \* .+\n\n -- IT <it@x\.org>  Wed, 02 Dec 2026 18:05:09 \+0000\n$/,
    );
  });

  it('is dated SOURCE_DATE_EPOCH when set (reproducible builds) and refuses a malformed one', () => {
    expect(buildDate({ SOURCE_DATE_EPOCH: '1764698709' }).toISOString()).toBe('2025-12-02T18:05:09.000Z');
    const before = Date.now();
    expect(buildDate({}).getTime()).toBeGreaterThanOrEqual(before);
    expect(() => buildDate({ SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(UsageError);
  });
});

describe('lintian overrides', () => {
  it('override only the two findings inherent to a Node single executable, each with its reason above it', () => {
    const text = lintianOverrides('devlic-agent', 'usr/lib/devlic/devlic-agent');
    const tags = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(tags).toEqual([
      'devlic-agent: unstripped-binary-or-object [usr/lib/devlic/devlic-agent]',
      'devlic-agent: embedded-library zlib [usr/lib/devlic/devlic-agent]',
    ]);
    const lines = text.split('\n');
    for (const t of tags) expect(lines[lines.indexOf(t) - 1]).toMatch(/^# /);
  });
});
