// `devlic-agent run --log-file FILE [--pid-file FILE]`: the agent appends its
// JSON log lines to FILE itself and reopens FILE on SIGUSR2.
//
// For launchd: it can only give a daemon a file as stdout and keeps that
// file open, so after newsyslog renames the log the agent would go on
// writing into the renamed copy, which newsyslog then compresses and
// deletes: every line after the first rotation would be lost. Instead
// newsyslog renames FILE, creates a new empty one and sends SIGUSR2 to the
// pid in the pid file (installer/platforms/launchd.ts newsyslogConf); the
// next line goes to the new FILE. SIGUSR2, not SIGHUP: SIGHUP already means
// "reload and re-apply" to the daemon, and Node leaves SIGUSR2 free.
import { basename, dirname, join } from 'node:path';
import { pino, type DestinationStream } from 'pino';
import { assertSafeDir } from '../host/safe-path.ts';
import { removeFile, writeSafeFile } from '../host/fsutil.ts';

export const REOPEN_SIGNAL = 'SIGUSR2';

export interface LogFile {
  destination: DestinationStream;
  /** Stops listening for the signal, removes the pid file, flushes and closes FILE. */
  close(): Promise<void>;
}

export async function openLogFile(opts: { logFile: string; pidFile?: string; log?: (msg: string) => void }): Promise<LogFile> {
  // Root writes here: the folder must be root's alone (the file is then opened in the checked folder).
  const dir = (await assertSafeDir(dirname(opts.logFile))).real;
  const path = join(dir, basename(opts.logFile));
  // sync: a line is in the file when the call returns, so nothing is lost at exit or at a reopen.
  const dest = pino.destination({ dest: path, append: true, sync: true, mkdir: false, mode: 0o640 });
  const reopen = () => {
    dest.reopen();
    opts.log?.('log file reopened');
  };
  process.on(REOPEN_SIGNAL, reopen);
  if (opts.pidFile) await writeSafeFile(opts.pidFile, `${process.pid}\n`, 0o644);
  return {
    destination: dest,
    async close() {
      process.off(REOPEN_SIGNAL, reopen);
      if (opts.pidFile) await removeFile(opts.pidFile).catch(() => false);
      dest.flushSync();
      dest.end();
    },
  };
}
