// Types for the two systeminformation modules the agent's daemon imports
// directly (the package ships types for its index only): its own functions,
// the same objects the index re-exports.
declare module 'systeminformation/lib/osinfo.js' {
  import type { Systeminformation } from 'systeminformation';
  export function osInfo(): Promise<Systeminformation.OsData>;
}

declare module 'systeminformation/lib/users.js' {
  import type { Systeminformation } from 'systeminformation';
  export function users(): Promise<Systeminformation.UserData[]>;
}
