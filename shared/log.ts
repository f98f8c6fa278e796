// Structured JSON logging (pino) to stdout, so that systemd's journal,
// launchd's log files and the Windows service wrapper all receive one JSON
// object per line.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** `destination`: a file instead of stdout (the agent under launchd: agent/runtime/log-file.ts). */
export function createLogger(name: string, level = process.env.DEVLIC_LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const opts = { name, level, base: { name }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(opts, destination) : pino(opts);
}

/** A logger that discards everything: for library code used from CLIs and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
