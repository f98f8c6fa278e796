// Structured JSON logging (pino) to stdout, so that systemd's journal,
// launchd's log files and the Windows service wrapper all receive one JSON
// object per line. On the journal each line also carries its syslog
// priority (`<3>{...}`, see journal.ts), so `journalctl -p err` finds errors.
import { pino, type Logger } from 'pino';
import { fdIsJournal, journalLine } from './journal.ts';

export type { Logger };

export function createLogger(name: string, level = process.env.DEVLIC_LOG_LEVEL ?? 'info', toJournal = fdIsJournal(1)): Logger {
  return pino({
    name, level, base: { name }, timestamp: pino.stdTimeFunctions.isoTime,
    ...(toJournal ? { hooks: { streamWrite: journalLine } } : {}),
  });
}

/** A logger that discards everything: for library code used from CLIs and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
