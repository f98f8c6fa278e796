// Structured JSON logging (pino) to stdout, so that systemd's journal,
// launchd's log files and the Windows service wrapper all receive one JSON
// object per line.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level = process.env.DEVLIC_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { name }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that discards everything: for library code used from CLIs and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
