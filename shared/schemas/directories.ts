// Directory connections (LDAP / Active Directory) in the admin API. The bind
// password goes in (POST /directories) and never comes out: no answer,
// audit event or log line carries it.
import Type from 'typebox';
import { Id, Name, Timestamp } from './common.ts';

/** Seconds between periodic syncs: 10 s (tests, small labs) to a day; 15 minutes by default. */
export const SYNC_SECONDS_MIN = 10;
export const SYNC_SECONDS_MAX = 86_400;
export const SYNC_SECONDS_DEFAULT = 900;

const Dn = Type.String({ minLength: 1, maxLength: 1024, pattern: '^[^\\u0000-\\u001f]+$' });

const Url = Type.String({ minLength: 8, maxLength: 512, pattern: '^ldaps?://[^\\s/]+/?$', description: 'ldap://host[:port] or ldaps://host[:port]' });
const Password = Type.String({ minLength: 1, maxLength: 1024 });
const SyncSeconds = Type.Integer({ minimum: SYNC_SECONDS_MIN, maximum: SYNC_SECONDS_MAX });
/** PEM text of one or more CA certificates; public, so stored as is (service/directories/ca.ts checks it). */
const CaCert = Type.String({ minLength: 1, maxLength: 65_536, description: 'PEM of the CA certificate(s) that signed the directory\'s TLS certificate, trusted instead of the system\'s CAs' });
const StartTls = Type.Boolean({ description: 'upgrade an ldap:// connection with StartTLS before binding (refused with ldaps://)' });

export const CreateDirectoryBody = Type.Object({
  name: Name,
  url: Url,
  bindDn: Dn,
  password: Password,
  baseDn: Dn,
  syncSeconds: Type.Optional(SyncSeconds),
  caCert: Type.Optional(CaCert),
  startTls: Type.Optional(StartTls),
}, { additionalProperties: false });
export type CreateDirectoryBody = Type.Static<typeof CreateDirectoryBody>;

/** `PATCH /directories/:ref`: only what is given changes; `caCert: null` trusts the system's CAs again. */
export const UpdateDirectoryBody = Type.Object({
  url: Type.Optional(Url),
  bindDn: Type.Optional(Dn),
  password: Type.Optional(Password),
  baseDn: Type.Optional(Dn),
  syncSeconds: Type.Optional(SyncSeconds),
  caCert: Type.Optional(Type.Union([CaCert, Type.Null()])),
  startTls: Type.Optional(StartTls),
}, { additionalProperties: false, minProperties: 1 });
export type UpdateDirectoryBody = Type.Static<typeof UpdateDirectoryBody>;

/** The CA a directory trusts, described (the PEM itself is not echoed back). */
export const DirectoryCa = Type.Object({ subject: Type.String(), fingerprint256: Type.String(), validTo: Type.String(), certificates: Type.Integer() });
export type DirectoryCa = Type.Static<typeof DirectoryCa>;

export const SyncCounts = Type.Object({
  groups: Type.Integer(), directoryGroups: Type.Integer(), computers: Type.Integer(), matched: Type.Integer(),
  unmatched: Type.Integer(), ambiguous: Type.Integer(), added: Type.Integer(), removed: Type.Integer(), queries: Type.Integer(),
  /** Directory user groups (issue 16): groups synced, people found, added, removed, and user objects skipped for want of a valid sign-in name. */
  userGroups: Type.Optional(Type.Integer()), people: Type.Optional(Type.Integer()), peopleAdded: Type.Optional(Type.Integer()),
  peopleRemoved: Type.Optional(Type.Integer()), peopleSkipped: Type.Optional(Type.Integer()),
});

export const Directory = Type.Object({
  id: Id,
  name: Type.String(),
  url: Type.String(),
  bindDn: Type.String(),
  baseDn: Type.String(),
  syncSeconds: Type.Integer(),
  /** The CA certificate(s) trusted for TLS, or null: the system's CAs. */
  ca: Type.Union([DirectoryCa, Type.Null()]),
  startTls: Type.Boolean(),
  createdAt: Timestamp,
  nextSyncAt: Timestamp,
  groups: Type.Array(Type.Object({ id: Id, name: Type.String(), dn: Type.String() })),
  /** The user groups that follow a group of this directory (issue 16). */
  userGroups: Type.Optional(Type.Array(Type.Object({ id: Id, name: Type.String(), dn: Type.String() }))),
  lastSync: Type.Union([Type.Object({
    at: Timestamp,
    ok: Type.Boolean(),
    error: Type.Union([Type.String(), Type.Null()]),
    /** Of the last sync that succeeded (a failed one changes no membership). */
    counts: Type.Union([SyncCounts, Type.Null()]),
  }), Type.Null()]),
});
export type Directory = Type.Static<typeof Directory>;

/** `POST /directories/:ref/sync`: the sync's outcome (a failed one: DIRECTORY_FAILED, nothing changed). */
export const SyncAnswer = Type.Object({
  directory: Directory,
  devicesChanged: Type.Integer(),
  /** People whose user licence answer changed (issue 16). */
  peopleChanged: Type.Optional(Type.Integer()),
  /** User objects of directory user groups skipped for want of a valid sign-in name (the first 100). */
  skippedUsers: Type.Optional(Type.Array(Type.Object({ group: Type.String(), dn: Type.String(), value: Type.Union([Type.String(), Type.Null()]), error: Type.String() }))),
  ambiguous: Type.Array(Type.Object({ dn: Type.String(), hostname: Type.String(), devices: Type.Array(Type.String()) })),
});

/** A NetBIOS domain an Active Directory forest uses (its crossRef), against the sign-in domain aliases in force. */
export const NetbiosDomainFound = Type.Object({
  netbios: Type.String(),
  dns: Type.String(),
  alias: Type.Union([Type.Literal('set'), Type.Literal('missing'), Type.Literal('other')], { description: 'set: the alias is in force; missing: none for this NetBIOS name; other: it stands for another DNS domain (current)' }),
  current: Type.Optional(Type.String()),
});
export type NetbiosDomainFound = Type.Static<typeof NetbiosDomainFound>;

export const DirectoryTest = Type.Object({
  ok: Type.Literal(true),
  computers: Type.Integer({ description: 'computer objects under the base DN' }),
  queries: Type.Integer(),
  /** Present for Active Directory (its root DSE names a configuration naming context): proposals only, nothing is applied. */
  netbiosDomains: Type.Optional(Type.Array(NetbiosDomainFound)),
});
export type DirectoryTest = Type.Static<typeof DirectoryTest>;
