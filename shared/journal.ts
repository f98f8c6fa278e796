// Log levels for systemd's journal. Under a systemd unit stdout and stderr
// are a stream to journald, which reads a leading `<N>` on each line as the
// line's syslog priority (sd-daemon(3), SyslogLevelPrefix=, on by default);
// without it every line is "info" and `journalctl -p err` finds nothing.
// systemd names that stream in JOURNAL_STREAM ("device:inode"); a file
// descriptor is the journal only when its own device and inode match, so a
// child that inherited the variable but writes to a pipe or a file (a CLI
// run from a hook, `devlic-agent run > log`) keeps plain JSON lines.
import { fstatSync } from 'node:fs';

/** syslog priorities (RFC 5424) for pino's levels: fatal->crit, error->err, warn->warning, info->info, debug/trace->debug. */
export function syslogPriority(pinoLevel: number): number {
  if (pinoLevel >= 60) return 2;
  if (pinoLevel >= 50) return 3;
  if (pinoLevel >= 40) return 4;
  if (pinoLevel >= 30) return 6;
  return 7;
}

// pino writes the level first: {"level":50,"time":...
const LEVEL = /^\{"level":(\d+)[,}]/;

/** One pino line with its priority prefix; a line without a leading level is "info". */
export function journalLine(line: string): string {
  const m = line.match(LEVEL);
  return `<${syslogPriority(m ? Number(m[1]) : 30)}>${line}`;
}

export interface StreamId { dev: number | bigint; ino: number | bigint }

/** Whether a descriptor with these device/inode numbers is the stream JOURNAL_STREAM names. */
export function isJournalStream(journalStream: string | undefined, st: StreamId | undefined): boolean {
  if (!journalStream || !st) return false;
  const m = journalStream.trim().match(/^(\d+):(\d+)$/);
  return !!m && m[1] === String(st.dev) && m[2] === String(st.ino);
}

/** Whether file descriptor `fd` (1: stdout, 2: stderr) of this process is the journal. */
export function fdIsJournal(fd: 1 | 2, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!env.JOURNAL_STREAM) return false;
  try {
    // bigint: device numbers can exceed 2^53 and must compare exactly.
    return isJournalStream(env.JOURNAL_STREAM, fstatSync(fd, { bigint: true }));
  } catch {
    return false;
  }
}

/**
 * A message a program prints on stderr before it exits (usage or start-up
 * error). On the journal it becomes one JSON line at priority err, like the
 * logger's, so the stream holds nothing but JSON; elsewhere it is unchanged.
 */
export function stderrText(program: string, text: string, onJournal = fdIsJournal(2)): string {
  if (!onJournal) return text;
  const msg = text.replace(/\n+$/, '');
  return journalLine(`${JSON.stringify({ level: 50, time: new Date().toISOString(), name: program, msg })}\n`);
}
