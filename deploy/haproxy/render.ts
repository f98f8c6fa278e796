// Renders the HAProxy configuration that sits in front of devlic-server
// replicas. deploy/haproxy/devlic.cfg is this function's output with
// HAPROXY_DEFAULTS (a test keeps the two equal), and the HAProxy tests run the
// same text with their own ports, so what IT copies is what was tested.
// Every choice is explained in docs/load-balancing.md.
//
// Run `node deploy/haproxy/render.ts > deploy/haproxy/devlic.cfg` after a change.
import { DevlicError } from '../../shared/errors.ts';
import { MAX_WAIT_SECONDS } from '../../shared/api.ts';
import { SERVER_DEFAULTS } from '../../service/config.ts';

export interface HaproxyServer {
  /** Name in logs and on the stats socket (letters, digits, . _ -). */
  name: string;
  /** HOST:PORT the replica listens on (its `listen` setting). */
  address: string;
}

export interface HaproxyOptions {
  servers: HaproxyServer[];
  /** What the frontend binds: `:443`, `10.0.0.5:443`, `127.0.0.1:18443`. */
  bind: string;
  /** PEM with certificate chain and key for TLS termination; null binds plain HTTP (tests only, or behind another TLS terminator). */
  tlsCertFile: string | null;
  /** CA file to verify replicas that serve TLS themselves (their tlsCert); null: replicas speak plain HTTP on a private network. */
  serverCaFile: string | null;
  /** Runtime API socket (show stat, disable server...); admin level, mode 600. */
  statsSocket: string;
  /** Target of the `log` line: `/dev/log local0` (syslog, the Debian way) or `stdout format raw local0` (foreground). */
  log: string;
  /** Debian service layout: chroot /var/lib/haproxy, user/group haproxy, daemon. Off when a test runs haproxy -db itself. */
  system: boolean;
  /** The replicas' maxConnections (service/config.ts); HAProxy queues past it instead of letting a replica refuse. */
  replicaMaxConnections: number;
  /** The replicas' maxWaitSeconds: the client and server timeouts must outlast the longest long-poll. */
  maxWaitSeconds: number;
  /** The replicas' requestTimeoutSeconds: the same cut for slow request headers, at the edge. */
  requestTimeoutSeconds: number;
}

export const HAPROXY_DEFAULTS: HaproxyOptions = {
  servers: [
    { name: 'replica1', address: '10.0.0.11:8470' },
    { name: 'replica2', address: '10.0.0.12:8470' },
    { name: 'replica3', address: '10.0.0.13:8470' },
  ],
  bind: ':443',
  tlsCertFile: '/etc/haproxy/certs/devlic.pem',
  serverCaFile: null,
  statsSocket: '/run/haproxy/admin.sock',
  log: '/dev/log local0',
  system: true,
  replicaMaxConnections: SERVER_DEFAULTS.maxConnections,
  maxWaitSeconds: MAX_WAIT_SECONDS,
  requestTimeoutSeconds: SERVER_DEFAULTS.requestTimeoutSeconds,
};

/** Connections of a replica kept out of HAProxy's reach: admins and monitoring that go to it directly. */
export const REPLICA_HEADROOM = 500;
/** Time a long-poll answer may take beyond its wait (a busy replica signing a batch, a slow network). */
export const LONG_POLL_MARGIN_SECONDS = 30;
/** Event streams (the console's live view) send a ping every 20 s; an hour of nothing at all is a dead peer. */
export const TUNNEL_TIMEOUT = '1h';

const NAME = /^[A-Za-z0-9_.-]{1,32}$/;
// A host name, IPv4 or bracket-less IPv6 as HAProxy writes it, then :port.
const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+|[0-9A-Fa-f:.]+):(\d{1,5})$/;
const BIND = /^([A-Za-z0-9_.:\[\]-]*):(\d{1,5})$/;
const PATH = /^\/[A-Za-z0-9_./@+-]+$/;
const LOG = /^[A-Za-z0-9_./@: -]+$/;

function bad(what: string): never {
  throw new DevlicError('CONFIG_INVALID', `haproxy config: ${what}`);
}

/**
 * Refuses anything that could break out of its line (newlines, spaces, '#')
 * or make no sense, so a rendered config never carries text nobody meant.
 */
export function checkHaproxyOptions(o: HaproxyOptions): void {
  if (o.servers.length === 0) bad('at least one replica is needed');
  const names = new Set<string>();
  for (const s of o.servers) {
    if (!NAME.test(s.name)) bad(`server name '${s.name}' must be 1-32 letters, digits, '.', '_' or '-'`);
    if (names.has(s.name)) bad(`server name '${s.name}' is used twice`);
    names.add(s.name);
    const m = s.address.match(ADDRESS);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) bad(`server '${s.name}': '${s.address}' is not HOST:PORT`);
  }
  const b = o.bind.match(BIND);
  if (!b || Number(b[2]) < 1 || Number(b[2]) > 65535) bad(`bind '${o.bind}' is not [ADDRESS]:PORT`);
  for (const [k, v] of [['tlsCertFile', o.tlsCertFile], ['serverCaFile', o.serverCaFile], ['statsSocket', o.statsSocket]] as const) {
    if (v !== null && !PATH.test(v)) bad(`${k} '${v}' must be an absolute path without spaces`);
  }
  if (!LOG.test(o.log)) bad(`log '${o.log}' has characters a log target cannot have`);
  for (const [k, v, min, max] of [
    ['replicaMaxConnections', o.replicaMaxConnections, REPLICA_HEADROOM + 2, 1_000_000],
    ['maxWaitSeconds', o.maxWaitSeconds, 1, MAX_WAIT_SECONDS],
    ['requestTimeoutSeconds', o.requestTimeoutSeconds, 1, 600],
  ] as const) {
    if (!Number.isInteger(v) || v < min || v > max) bad(`${k} must be a whole number from ${min} to ${max}, not ${v}`);
  }
}

/** The per-replica connection cap HAProxy applies (the rest is headroom for direct use). */
export function perServerMaxconn(o: Pick<HaproxyOptions, 'replicaMaxConnections'>): number {
  return o.replicaMaxConnections - REPLICA_HEADROOM;
}

export function renderHaproxyConfig(o: HaproxyOptions = HAPROXY_DEFAULTS): string {
  checkHaproxyOptions(o);
  const perServer = perServerMaxconn(o);
  const total = perServer * o.servers.length;
  const longPoll = o.maxWaitSeconds + LONG_POLL_MARGIN_SECONDS;
  const serverTls = o.serverCaFile ? ` ssl verify required ca-file ${o.serverCaFile}` : '';
  const lines = [
    '# devlic: HAProxy in front of devlic-server replicas on one shared PostgreSQL.',
    '# Rendered by deploy/haproxy/render.ts; docs/load-balancing.md explains each line.',
    '# Agents and the console use ONE URL (this frontend); replicas are never addressed directly.',
    'global',
    `    log ${o.log}`,
    ...(o.system ? ['    chroot /var/lib/haproxy', '    user haproxy', '    group haproxy', '    daemon'] : []),
    `    stats socket ${o.statsSocket} mode 600 level admin`,
    '    # Every replica at its own cap: past this HAProxy stops accepting instead of holding more than they can take.',
    `    maxconn ${total}`,
    ...(o.tlsCertFile ? ['    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets'] : []),
    '',
    'defaults',
    '    mode http',
    '    log global',
    '    option httplog',
    '    option dontlognull',
    '    timeout connect 5s',
    '    # Request headers must arrive within the replicas\' requestTimeoutSeconds (slow-loris cut at the edge).',
    `    timeout http-request ${o.requestTimeoutSeconds}s`,
    '    timeout http-keep-alive 30s',
    `    # Longest long-poll (maxWaitSeconds ${o.maxWaitSeconds}) plus ${LONG_POLL_MARGIN_SECONDS} s: a held ?wait= is never cut by HAProxy.`,
    `    timeout client ${longPoll}s`,
    `    timeout server ${longPoll}s`,
    '    # Upgraded connections only (WebSocket); the console\'s SSE streams are plain responses, kept by the two above and their 20 s ping.',
    `    timeout tunnel ${TUNNEL_TIMEOUT}`,
    '    timeout queue 30s',
    '    timeout check 2s',
    '',
    'frontend devlic',
    o.tlsCertFile ? `    bind ${o.bind} ssl crt ${o.tlsCertFile} alpn h2,http/1.1` : `    bind ${o.bind}`,
    `    maxconn ${total}`,
    '    # The client address the replicas see (trustProxy): only ours, never one the client wrote.',
    '    http-request del-header X-Forwarded-For',
    '    option forwardfor',
    o.tlsCertFile ? '    http-request set-header X-Forwarded-Proto https' : '    http-request set-header X-Forwarded-Proto http',
    '    default_backend devlic_replicas',
    '',
    'backend devlic_replicas',
    '    # One held long-poll = one connection: the replica with fewest takes the next device.',
    '    balance leastconn',
    '    option httpchk GET /healthz',
    '    http-check expect status 200',
    '    # Retry only connections that never reached a replica, on another one (redispatch):',
    '    # a request a replica may have acted on (a POST assign, an enroll) is never replayed.',
    '    retries 2',
    '    retry-on conn-failure',
    '    option redispatch 1',
    '    # A dead replica is DOWN after 2 failed checks (~3 s; a hung one ~7 s with the 2 s check timeout), UP after 2 good ones;',
    '    # a replica marked down has its held connections cut so its agents reconnect to the others.',
    `    default-server check inter 2s fastinter 1s downinter 2s fall 2 rise 2 maxconn ${perServer} on-marked-down shutdown-sessions${serverTls}`,
    ...o.servers.map((s) => `    server ${s.name} ${s.address}`),
    '',
  ];
  return lines.join('\n');
}

if (import.meta.main) process.stdout.write(renderHaproxyConfig());
