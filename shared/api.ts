// The HTTP paths of the service, in one place, so agent, admin CLI, console
// and service cannot drift apart.

export const API = {
  health: '/healthz',
  metrics: '/metrics',
  openapi: '/openapi.json',
  jwks: '/.well-known/jwks.json',
  keySet: '/.well-known/devlic-keys',
  enroll: '/v1/enroll',
  entitlement: '/v1/device/entitlement',
  status: '/v1/device/status',
  /** A signed-in person's user licence, asked by the device they are on (issue 16). */
  userEntitlement: '/v1/device/user-entitlement',
  admin: '/v1/admin',
} as const;

/** Audience of device-signed request tokens. */
export const DEVICE_AUTH_AUDIENCE = 'devlic-device-api';
/** Audience of the proof a re-enrolling device signs with its current key. */
export const ENROLL_PROOF_AUDIENCE = 'devlic-enroll';
/** Audience of entitlement tokens: what the agent expects. */
export const ENTITLEMENT_AUDIENCE = 'devlic-agent';
/** Scheme in `Authorization: DevlicDevice <jwt>`. */
export const DEVICE_AUTH_SCHEME = 'DevlicDevice';
/** Longest `?wait=` the service honours, in seconds. */
export const MAX_WAIT_SECONDS = 300;
