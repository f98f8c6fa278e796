// Structured JSON logging (pino) to stdout, so that systemd's journal,
// launchd's log files and the Windows service wrapper all receive one JSON
// object per line. On the journal each line also carries its syslog
// priority (`<3>{...}`, see journal.ts), so `journalctl -p err` finds errors.
import { pino, type DestinationStream, type Logger } from 'pino';
import { fdIsJournal, journalLine } from './journal.ts';

export type { Logger };

/**
 * `destination`: a file instead of stdout (the agent under launchd:
 * agent/runtime/log-file.ts); such a file is never the journal.
 */
export function createLogger(
  name: string,
  level = process.env.DEVLIC_LOG_LEVEL ?? 'info',
  destination?: DestinationStream,
  toJournal = destination === undefined && fdIsJournal(1),
): Logger {
  const opts = {
    name, level, base: { name }, timestamp: pino.stdTimeFunctions.isoTime,
    ...(toJournal ? { hooks: { streamWrite: journalLine } } : {}),
  };
  const log = destination ? pino(opts, destination) : pino(opts);
  if (toJournal) {
    // Node prints its process warnings ("(node:123) Warning: ...") on stderr,
    // which is the journal too: log them as JSON lines instead.
    process.removeAllListeners('warning');
    process.on('warning', (w) => log.warn({ warning: { name: w.name, message: w.message, code: (w as { code?: string }).code } }, `node: ${w.message}`));
  }
  return log;
}

/** A logger that discards everything: for library code used from CLIs and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
