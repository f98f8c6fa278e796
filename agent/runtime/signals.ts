// The agent process's signals mapped onto the daemon's one lifecycle:
// SIGTERM/SIGINT stop it cleanly (a second one exits at once), SIGHUP
// reloads. Kept apart from daemon.ts, which then holds no process-wide
// handlers: only this entry point owns the process.
import { Daemon, type DaemonOptions } from './daemon.ts';

/** Runs the daemon until SIGTERM/SIGINT (exit 0) or until it must stop by itself (its code); a second signal exits at once. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const d = new Daemon(opts);
  await d.start();
  const code = await new Promise<number>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      opts.log.info({ signal: sig }, 'shutting down');
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      resolve(0);
    };
    void d.exited.then(resolve);
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    // SIGHUP: re-read identity.json (e.g. after a manual restore) and re-apply.
    process.on('SIGHUP', () => void d.reload().catch((e) => opts.log.error({ err: e }, 'reload failed')));
  });
  await d.stop();
  return code;
}
