// Typed errors shared by agent and service. Every error carries a stable,
// machine-readable code; the service maps it to an HTTP status and the
// `{error: {code, message}}` body, the CLIs map it to an exit code.

export type ErrorCode =
  | 'BAD_REQUEST'
  | 'VALIDATION_FAILED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'AMBIGUOUS_NAME'
  | 'CONFLICT'
  | 'GROUP_ALREADY_LICENSED'
  | 'GROUP_CYCLE'
  | 'RULE_INVALID'
  | 'GROUP_IS_RULE_BASED'
  | 'GROUP_IS_DIRECTORY_BASED'
  | 'DIRECTORY_FAILED'
  | 'DIRECTORY_IN_USE'
  | 'DIRECTORY_SETTINGS_INVALID'
  | 'NAME_TAKEN'
  | 'CONFIRMATION_REQUIRED'
  | 'GROUP_HAS_LICENSES'
  | 'LAST_GLOBAL_ADMIN'
  | 'DEVICE_NOT_RETIRED'
  | 'ENROLL_TOKEN_INVALID'
  | 'ENROLL_PROOF_INVALID'
  | 'DEVICE_MERGED'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOKEN_INVALID'
  | 'KEY_CHAIN_INVALID'
  | 'CONFIG_INVALID'
  | 'SIGN_IN_NAME_INVALID'
  | 'SIGN_IN_DOMAIN_INVALID'
  | 'SIGN_IN_DOMAIN_TAKEN'
  | 'WRONG_PRODUCT_KIND'
  | 'USAGE'
  | 'INTERNAL';

const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  AMBIGUOUS_NAME: 409,
  CONFLICT: 409,
  GROUP_ALREADY_LICENSED: 409,
  GROUP_CYCLE: 409,
  RULE_INVALID: 400,
  // Members of a rule group come from its rule; hand edits are refused.
  GROUP_IS_RULE_BASED: 409,
  // Members of a directory group come from the directory; hand edits are refused.
  GROUP_IS_DIRECTORY_BASED: 409,
  // The directory could not be reached, refused the bind or a read (nothing was changed).
  DIRECTORY_FAILED: 502,
  DIRECTORY_IN_USE: 409,
  // A directory's settings that cannot work (a CA file that is not PEM certificates, StartTLS with ldaps://): nothing was changed.
  DIRECTORY_SETTINGS_INVALID: 400,
  NAME_TAKEN: 409,
  // 428 Precondition Required: repeat with `confirm: true` (details.impact says what happens).
  CONFIRMATION_REQUIRED: 428,
  GROUP_HAS_LICENSES: 409,
  LAST_GLOBAL_ADMIN: 409,
  DEVICE_NOT_RETIRED: 409,
  ENROLL_TOKEN_INVALID: 401,
  ENROLL_PROOF_INVALID: 401,
  DEVICE_MERGED: 401,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  TOKEN_INVALID: 401,
  KEY_CHAIN_INVALID: 502,
  CONFIG_INVALID: 500,
  SIGN_IN_NAME_INVALID: 400,
  SIGN_IN_DOMAIN_INVALID: 400,
  // The NetBIOS domain already has an alias: remove it first.
  SIGN_IN_DOMAIN_TAKEN: 409,
  // A user product's subscription assigned to a device group, or the other way round.
  WRONG_PRODUCT_KIND: 409,
  USAGE: 400,
  INTERNAL: 500,
};

export class DevlicError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'DevlicError';
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

export function httpStatusOf(code: ErrorCode): number {
  return HTTP_STATUS[code];
}

export function isDevlicError(e: unknown): e is DevlicError {
  return e instanceof DevlicError;
}
