// devlic-agent: entry point and command dispatch. Exit codes follow the shared
// contract: 0 ok, 1 failure (with what to do), 2 wrong usage.
import { runCli, UsageError } from '../shared/cli.ts';
import { stderrText } from '../shared/journal.ts';
import type { Command } from './cli/common.ts';
import { enrollCommand } from './cli/enroll.ts';
import { runCommand } from './cli/run.ts';
import { statusCommand } from './cli/status.ts';
import { logsCommand } from './cli/logs.ts';
import { refreshCommand } from './cli/refresh.ts';
import { doctorCommand } from './cli/doctor.ts';
import { AgentError } from './errors.ts';
import { AGENT_VERSION } from './version.ts';

const COMMANDS: Record<string, Command> = {
  enroll: enrollCommand,
  run: runCommand,
  status: statusCommand,
  logs: logsCommand,
  refresh: refreshCommand,
  doctor: doctorCommand,
};

/** Handled by installer/agent-entry.ts before this module runs; reached only when started without it. */
const ELSEWHERE = ['install', 'uninstall'];

function usage(): string {
  const w = Math.max(...[...Object.keys(COMMANDS), ...ELSEWHERE].map((k) => k.length)) + 2;
  return `Usage: devlic-agent <command> [options]

Device agent of devlic (device-based licensing). Commands:
${Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(w)}${c.summary}`).join('\n')}
  ${'install'.padEnd(w)}install as a system service (root): copy, configure, enroll, start
  ${'uninstall'.padEnd(w)}stop and remove the service; --purge also removes data and keys

Every command takes --data-dir DIR, --config FILE and --help.
'devlic-agent <command> --help' describes one command.
`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const sub = name === 'help' ? rest[0] : undefined;
    process.stdout.write(sub && COMMANDS[sub] ? COMMANDS[sub].usage : usage());
    return 0;
  }
  if (name === '--version') {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return 0;
  }
  if (ELSEWHERE.includes(name)) {
    process.stderr.write(`devlic-agent: '${name}' is not part of this build; use the devlic installer package.\n`);
    return 1;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    if (e instanceof AgentError) {
      process.stderr.write(stderrText('devlic-agent', `devlic-agent: ${e.message}\n${e.hint ? `  ${e.hint}\n` : ''}`));
      return 1;
    }
    throw e;
  }
}

await runCli('devlic-agent', () => main(process.argv.slice(2)));
