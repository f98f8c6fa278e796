// shared/journal.ts: pino level -> syslog priority, the `<N>` prefix, and
// when a file descriptor counts as the journal.
import { describe, expect, it } from 'vitest';
import { isJournalStream, journalLine, stderrText, syslogPriority } from '../../shared/journal.ts';

describe('syslogPriority', () => {
  it('maps every pino level, and levels between them, to the syslog priority', () => {
    const cases: Array<[number, number]> = [
      [10, 7], [20, 7], [29, 7], [30, 6], [39, 6], [40, 4], [49, 4], [50, 3], [59, 3], [60, 2], [100, 2], [0, 7],
    ];
    for (const [level, prio] of cases) expect(syslogPriority(level), String(level)).toBe(prio);
  });
});

describe('journalLine', () => {
  it('prefixes a pino line with its priority and leaves the line itself unchanged', () => {
    const line = '{"level":50,"time":"2026-12-02T18:00:00.000Z","name":"devlic-agent","msg":"x"}\n';
    expect(journalLine(line)).toBe(`<3>${line}`);
    expect(journalLine('{"level":30}\n')).toBe('<6>{"level":30}\n');
    expect(journalLine('{"level":60,"msg":"{\\"level\\":10}"}\n')).toMatch(/^<2>/);
  });

  it('treats a line without a leading level as info', () => {
    expect(journalLine('{"msg":"no level","level":50}\n')).toMatch(/^<6>/);
    expect(journalLine('plain text\n')).toBe('<6>plain text\n');
  });
});

describe('isJournalStream', () => {
  it('matches only the same device and inode', () => {
    expect(isJournalStream('2049:131', { dev: 2049, ino: 131 })).toBe(true);
    expect(isJournalStream('2049:131\n', { dev: 2049n, ino: 131n })).toBe(true);
    expect(isJournalStream('18446744073709551615:1', { dev: 18446744073709551615n, ino: 1n })).toBe(true);
    for (const [env, st] of [
      ['2049:132', { dev: 2049, ino: 131 }], ['2048:131', { dev: 2049, ino: 131 }], ['2049', { dev: 2049, ino: 131 }],
      ['x:y', { dev: 2049, ino: 131 }], ['', { dev: 0, ino: 0 }], [undefined, { dev: 2049, ino: 131 }], ['2049:131', undefined],
      ['2049:131:5', { dev: 2049, ino: 131 }], ['-1:131', { dev: -1, ino: 131 }],
    ] as const) expect(isJournalStream(env, st), `${env}`).toBe(false);
  });
});

describe('stderrText', () => {
  it('is unchanged off the journal', () => {
    expect(stderrText('devlic-agent', 'devlic-agent: oops\n  try this\n', false)).toBe('devlic-agent: oops\n  try this\n');
  });

  it('on the journal is one JSON line at priority err holding the whole message', () => {
    const out = stderrText('devlic-agent', 'devlic-agent: oops\n  try this\n', true);
    expect(out).toMatch(/^<3>\{"level":50,"time":"[^"]+","name":"devlic-agent","msg":/);
    expect(out.endsWith('\n')).toBe(true);
    expect(out.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(out.slice(3)).msg).toBe('devlic-agent: oops\n  try this');
  });
});
