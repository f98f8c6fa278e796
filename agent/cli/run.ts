// `devlic-agent run`: the daemon.
import { createLogger } from '../../shared/log.ts';
import { COMMON_HELP, configFrom, parseCommand, type Command } from './common.ts';
import { runDaemon } from '../runtime/signals.ts';
import { clockFromEnv } from '../decision/clock.ts';
import { openLogFile } from '../runtime/log-file.ts';
import { UsageError } from '../../shared/cli.ts';
import { applyAgentV8Flags } from '../runtime/v8-flags.ts';

export const runCommand: Command = {
  summary: 'run the agent (started by the service manager)',
  usage: `Usage: devlic-agent run [options]

Runs the agent in the foreground: keeps the entitlement in sync (long-poll),
applies full or read-only mode for whoever signs in, reports status to the
service. Logs JSON lines on stdout. Stops cleanly on SIGTERM or SIGINT.

  --log-file FILE  append the log lines to FILE instead; SIGUSR2 reopens it
                   (log rotation: macOS's newsyslog renames FILE, then signals)
  --pid-file FILE  write the process id there while running (with --log-file)
${COMMON_HELP}
`,
  async run(args) {
    const p = parseCommand(runCommand, args, { 'log-file': { type: 'string' }, 'pid-file': { type: 'string' } });
    if (!p) return 0;
    const logFile = p.values['log-file'] as string | undefined;
    const pidFile = p.values['pid-file'] as string | undefined;
    if (pidFile && !logFile) throw new UsageError('--pid-file goes with --log-file (it is for the program that rotates the log)');
    const cfg = configFrom(p.values);
    applyAgentV8Flags();
    let log = createLogger('devlic-agent');
    const file = logFile ? await openLogFile({ logFile, pidFile, log: (msg) => log.info(msg) }) : undefined;
    if (file) log = createLogger('devlic-agent', undefined, file.destination);
    try {
      return await runDaemon({ cfg, clock: clockFromEnv(), log });
    } finally {
      await file?.close();
    }
  },
};
