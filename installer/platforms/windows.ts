// Windows: the agent as a service that starts automatically, runs as
// LocalSystem and is restarted on failure, plus the ACL of its data folder.
//
// A Node executable cannot be a Windows service by itself: the service
// control manager expects the program to call StartServiceCtrlDispatcher
// within 30 s and kills it otherwise (error 1053). So the service's program
// is WinSW (MIT-licensed service wrapper, one .exe, github.com/winsw/winsw),
// copied beside the agent as devlic-agent-service.exe; it reads the XML of
// the same name, starts `devlic-agent.exe run` and stops it on request.
// WinSW is not on npm, so it cannot be fetched here: the Windows release
// archive is assembled with it (see installer/build/targets.ts), and
// `install` refuses to continue when it is missing.
//
// All command lines are argv arrays for execFile: Node quotes each argument
// for CreateProcess, so the literal quotes inside binPath survive to sc.exe.
import { win32 } from 'node:path';
import type { AgentLayout } from '../layout.ts';
import type { Command } from '../../shared/run.ts';

export const WINSW_EXE = 'devlic-agent-service.exe';
const SC = 'sc.exe';
const ICACLS = 'icacls.exe';

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Quotes one argument for a command line the way CreateProcess parses it (for WinSW's <arguments>). */
export function quoteArg(a: string): string {
  if (a && !/[\s"]/.test(a)) return a;
  return `"${a.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
}

export function winswXml(layout: Pick<AgentLayout, 'serviceName' | 'exe' | 'configFile' | 'dataDir' | 'logDir'>): string {
  const args = ['run', '--config', layout.configFile].map(quoteArg).join(' ');
  return `<!-- devlic-agent service definition for WinSW; written by devlic-agent install. -->
<service>
  <id>${xml(layout.serviceName)}</id>
  <name>devlic agent</name>
  <description>devlic device agent: keeps this device's office apps licensed or read-only.</description>
  <executable>${xml(layout.exe)}</executable>
  <arguments>${xml(args)}</arguments>
  <workingdirectory>${xml(layout.dataDir)}</workingdirectory>
  <logpath>${xml(layout.logDir ?? win32.join(layout.dataDir, 'logs'))}</logpath>
  <log mode="roll-by-size">
    <sizeThreshold>10240</sizeThreshold>
    <keepFiles>8</keepFiles>
  </log>
  <onfailure action="restart" delay="5 sec"/>
  <stoptimeout>30 sec</stoptimeout>
</service>
`;
}

export function serviceProgram(layout: Pick<AgentLayout, 'programDir'>): string {
  return win32.join(layout.programDir, WINSW_EXE);
}

/** `sc.exe create` for a new service, `sc.exe config` (same settings) for an existing one. */
export function scDefine(layout: Pick<AgentLayout, 'serviceName' | 'programDir'>, exists: boolean): Command {
  return {
    file: SC,
    args: [exists ? 'config' : 'create', layout.serviceName, 'binPath=', `"${serviceProgram(layout)}"`,
      'start=', 'auto', 'obj=', 'LocalSystem', 'DisplayName=', 'devlic agent'],
    serviceManager: true,
  };
}

export function scConfigure(layout: Pick<AgentLayout, 'serviceName'>): Command[] {
  const n = layout.serviceName;
  return [
    { file: SC, args: ['description', n, 'devlic device agent: device-based licensing for shared devices'], serviceManager: true },
    // Restart after 5 s, 5 s, then every 30 s; forget failures after a day.
    { file: SC, args: ['failure', n, 'reset=', '86400', 'actions=', 'restart/5000/restart/5000/restart/30000'], serviceManager: true },
    // Also when it exits with an error instead of crashing.
    { file: SC, args: ['failureflag', n, '1'], serviceManager: true },
  ];
}

/**
 * The data folder (keys, cache) for SYSTEM and Administrators only: no
 * inherited entries (ProgramData lets Users create files). SIDs, not names,
 * because group names are translated on non-English Windows.
 */
export function restrictDataDir(dataDir: string): Command {
  return {
    file: ICACLS,
    args: [dataDir, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'],
    serviceManager: true,
  };
}

export function scQuery(name: string): Command {
  return { file: SC, args: ['query', name], allowFail: true, serviceManager: true };
}
export function scStart(name: string): Command {
  return { file: SC, args: ['start', name], serviceManager: true };
}
export function scStop(name: string): Command {
  return { file: SC, args: ['stop', name], allowFail: true, serviceManager: true };
}
export function scDelete(name: string): Command {
  return { file: SC, args: ['delete', name], allowFail: true, serviceManager: true };
}

/** `sc.exe query` output: does the service exist, and is it stopped? (1060 = no such service.) */
export function parseScQuery(code: number, stdout: string): { exists: boolean; stopped: boolean } {
  if (code === 1060 || /FAILED 1060/.test(stdout)) return { exists: false, stopped: true };
  return { exists: code === 0, stopped: /STATE\s*:\s*1\s+STOPPED/.test(stdout) };
}
