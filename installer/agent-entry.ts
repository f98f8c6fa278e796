// Entry point of the devlic-agent single executable (and the one proposed for
// bin/devlic-agent.mjs): `install` and `uninstall` are the installer's
// commands, everything else is the agent's own CLI. Routing here keeps the
// dependency direction of docs/design.md: the installer imports the agent, the
// agent never imports the installer. Both sides are imported only when
// chosen (esbuild keeps them lazy in the bundle), so `status` does not pay
// for the installer and install/uninstall do not load the agent's SQLite addon.
import { runCli } from '../shared/cli.ts';

const argv = process.argv.slice(2);
if (argv[0] === 'install' || argv[0] === 'uninstall') {
  void runCli(`devlic-agent ${argv[0]}`, async () => (await import('./install-cli.ts')).runInstallCommand(argv));
} else {
  void import('../agent/main.ts');
}
