// The agent's version, reported to the service and shown by status.
import pkg from '../package.json' with { type: 'json' };

export const AGENT_VERSION: string = pkg.version;
