// macOS: the agent as a LaunchDaemon (runs as root at boot, restarted by
// launchd whenever it exits), its log file and the newsyslog rule that
// rotates it, and the launchctl command lines. Pure: text and argv only.
import type { AgentLayout } from '../layout.ts';
import type { Command } from '../../shared/run.ts';

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function logDir(layout: Pick<AgentLayout, 'logDir'>): string {
  return layout.logDir ?? '/Library/Logs/devlic';
}

/** The agent's log: written by the agent itself (run --log-file), so that rotation can make it reopen the file. */
export function agentLogFile(layout: Pick<AgentLayout, 'logDir'>): string {
  return `${logDir(layout)}/agent.log`;
}

/** Where newsyslog finds the pid to signal. In the root-only log folder: no spaces (newsyslog.conf splits on them), and /var/run is group-writable on macOS. */
export function agentPidFile(layout: Pick<AgentLayout, 'logDir'>): string {
  return `${logDir(layout)}/agent.pid`;
}

/** launchd's stdout and stderr for the agent: only what Node prints before or instead of logging (a crash). */
export function agentStderrFile(layout: Pick<AgentLayout, 'logDir'>): string {
  return `${logDir(layout)}/agent-stderr.log`;
}

export function agentPlist(layout: Pick<AgentLayout, 'serviceName' | 'exe' | 'configFile' | 'dataDir' | 'logDir'>): string {
  const out = agentStderrFile(layout);
  const args = [layout.exe, 'run', '--config', layout.configFile, '--log-file', agentLogFile(layout), '--pid-file', agentPidFile(layout)];
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- devlic-agent: written by \`devlic-agent install\`; removed by \`devlic-agent uninstall\`. -->
<plist version="1.0">
<dict>
\t<key>Label</key>
\t<string>${xml(layout.serviceName)}</string>
\t<key>ProgramArguments</key>
\t<array>
${args.map((a) => `\t\t<string>${xml(a)}</string>`).join('\n')}
\t</array>
\t<key>RunAtLoad</key>
\t<true/>
\t<key>KeepAlive</key>
\t<true/>
\t<key>ThrottleInterval</key>
\t<integer>5</integer>
\t<key>ExitTimeOut</key>
\t<integer>30</integer>
\t<key>ProcessType</key>
\t<string>Standard</string>
\t<key>WorkingDirectory</key>
\t<string>${xml(layout.dataDir)}</string>
\t<key>Umask</key>
\t<integer>63</integer>
\t<key>StandardOutPath</key>
\t<string>${xml(out)}</string>
\t<key>StandardErrorPath</key>
\t<string>${xml(out)}</string>
</dict>
</plist>
`;
}

/** SIGUSR2's number on macOS (12 on Linux): newsyslog.conf takes a number. */
export const DARWIN_SIGUSR2 = 31;

/**
 * newsyslog rules. The log: keep 7 files of at most 10 MB, bzip2-compressed
 * (J); after renaming it newsyslog signals the pid in the pid file with
 * SIGUSR2 and the agent reopens the log (agent/runtime/log-file.ts), then
 * compresses the renamed file (FreeBSD's newsyslog, which macOS ships, pauses
 * between the two; not watched on a Mac here). launchd's stdout/stderr
 * file only gets crash output: N (no process to signal); launchd opens it
 * anew each time it starts the agent, which is when a crash loop writes there.
 */
export const NEWSYSLOG_FILE = '/etc/newsyslog.d/devlic.conf';
export function newsyslogConf(layout: Pick<AgentLayout, 'logDir'>): string {
  return '# devlic-agent log rotation (written by devlic-agent install)\n'
    + '# logfilename\t\t[owner:group]\tmode\tcount\tsize(KB)\twhen\tflags\t[/pid_file]\t[sig_num]\n'
    + `${agentLogFile(layout)}\troot:wheel\t640\t7\t10240\t*\tJ\t${agentPidFile(layout)}\t${DARWIN_SIGUSR2}\n`
    + `${agentStderrFile(layout)}\troot:wheel\t640\t3\t1024\t*\tJN\n`;
}

/**
 * Loading: enable first (bootstrap refuses a label left disabled by an
 * earlier `launchctl disable`), then bootstrap, which starts it (RunAtLoad).
 * A re-install boots the old definition out first, which also restarts the
 * agent on the new program.
 */
export function launchdRegister(layout: Pick<AgentLayout, 'serviceName' | 'serviceFile'>): Command[] {
  const target = `system/${layout.serviceName}`;
  return [
    { file: '/bin/launchctl', args: ['bootout', target], allowFail: true, serviceManager: true },
    { file: '/bin/launchctl', args: ['enable', target], serviceManager: true },
    { file: '/bin/launchctl', args: ['bootstrap', 'system', layout.serviceFile], serviceManager: true },
  ];
}

export function launchdStop(layout: Pick<AgentLayout, 'serviceName'>): Command[] {
  return [{ file: '/bin/launchctl', args: ['bootout', `system/${layout.serviceName}`], allowFail: true, serviceManager: true }];
}
