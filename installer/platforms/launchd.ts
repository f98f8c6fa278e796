// macOS: the agent as a LaunchDaemon (runs as root at boot, restarted by
// launchd whenever it exits), its log file and the newsyslog rule that
// rotates it, and the launchctl command lines. Pure: text and argv only.
import type { AgentLayout } from '../layout.ts';
import type { Command } from '../../shared/run.ts';

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function agentLogFile(layout: Pick<AgentLayout, 'logDir'>): string {
  return `${layout.logDir ?? '/Library/Logs/devlic'}/agent.log`;
}

export function agentPlist(layout: Pick<AgentLayout, 'serviceName' | 'exe' | 'configFile' | 'dataDir' | 'logDir'>): string {
  const log = agentLogFile(layout);
  const args = [layout.exe, 'run', '--config', layout.configFile];
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
\t<string>${xml(log)}</string>
\t<key>StandardErrorPath</key>
\t<string>${xml(log)}</string>
</dict>
</plist>
`;
}

/** newsyslog rule: launchd never rotates StandardOutPath itself. Keep 7 files of at most 10 MB, bzip2-compressed. */
export const NEWSYSLOG_FILE = '/etc/newsyslog.d/devlic.conf';
export function newsyslogConf(layout: Pick<AgentLayout, 'logDir'>): string {
  return `# devlic-agent log rotation (written by devlic-agent install)\n# logfilename\t\t[owner:group]\tmode\tcount\tsize(KB)\twhen\tflags\n${agentLogFile(layout)}\troot:wheel\t640\t7\t10240\t*\tJ\n`;
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
