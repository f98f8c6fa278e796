// `devlic-agent run`: the daemon.
import { createLogger } from '../../shared/log.ts';
import { COMMON_HELP, configFrom, parseCommand, type Command } from './common.ts';
import { runDaemon } from '../runtime/daemon.ts';
import { clockFromEnv } from '../decision/clock.ts';

export const runCommand: Command = {
  summary: 'run the agent (started by the service manager)',
  usage: `Usage: devlic-agent run [options]

Runs the agent in the foreground: keeps the entitlement in sync (long-poll),
applies full or read-only mode for whoever signs in, reports status to the
service. Logs JSON lines on stdout. Stops cleanly on SIGTERM or SIGINT.

${COMMON_HELP}
`,
  async run(args) {
    const p = parseCommand(runCommand, args, {});
    if (!p) return 0;
    const cfg = configFrom(p.values);
    return runDaemon({ cfg, clock: clockFromEnv(), log: createLogger('devlic-agent') });
  },
};
