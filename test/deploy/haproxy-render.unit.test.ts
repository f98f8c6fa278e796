// The HAProxy config renderer: the shipped file is its output, the timeouts
// and limits follow the service's settings, and input that could smuggle
// lines into the config is refused with CONFIG_INVALID.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAPROXY_DEFAULTS, renderHaproxyConfig, perServerMaxconn } from '../../deploy/haproxy/render.ts';
import { SERVER_DEFAULTS } from '../../service/config.ts';
import { MAX_WAIT_SECONDS } from '../../shared/api.ts';

const SHIPPED = join(import.meta.dirname, '..', '..', 'deploy', 'haproxy', 'devlic.cfg');
const seconds = (cfg: string, key: string) => Number(cfg.match(new RegExp(`^\\s+timeout ${key} (\\d+)s$`, 'm'))![1]);

describe('HAProxy config renderer', () => {
  it('deploy/haproxy/devlic.cfg is the rendered default (run node deploy/haproxy/render.ts > deploy/haproxy/devlic.cfg)', () => {
    expect(readFileSync(SHIPPED, 'utf8')).toBe(renderHaproxyConfig(HAPROXY_DEFAULTS));
  });

  it('holds a long-poll longer than the longest wait the service allows, and checks /healthz', () => {
    const cfg = renderHaproxyConfig();
    expect(seconds(cfg, 'server')).toBeGreaterThan(MAX_WAIT_SECONDS);
    expect(seconds(cfg, 'client')).toBeGreaterThan(MAX_WAIT_SECONDS);
    expect(seconds(cfg, 'http-request')).toBe(SERVER_DEFAULTS.requestTimeoutSeconds);
    expect(seconds(renderHaproxyConfig({ ...HAPROXY_DEFAULTS, maxWaitSeconds: 60 }), 'server')).toBe(90);
    for (const line of ['    balance leastconn', '    option httpchk GET /healthz', '    http-check expect status 200', '    option forwardfor', '    http-request del-header X-Forwarded-For']) {
      expect(cfg.split('\n')).toContain(line);
    }
    // Only connection failures are retried: no retry-on that would replay a request a replica received.
    expect(cfg.match(/^\s*retry-on .*$/gm)).toEqual(['    retry-on conn-failure']);
  });

  it('caps each replica below its maxConnections and the whole below their sum', () => {
    const cfg = renderHaproxyConfig();
    const per = perServerMaxconn(HAPROXY_DEFAULTS);
    expect(per).toBeLessThan(SERVER_DEFAULTS.maxConnections);
    expect(cfg).toMatch(new RegExp(`default-server .* maxconn ${per} `));
    expect(cfg).toMatch(new RegExp(`^    maxconn ${per * HAPROXY_DEFAULTS.servers.length}$`, 'm'));
  });

  it('terminates TLS when given a certificate, binds plain HTTP without one', () => {
    expect(renderHaproxyConfig()).toMatch(/^    bind :443 ssl crt \/etc\/haproxy\/certs\/devlic.pem alpn h2,http\/1.1$/m);
    const plain = renderHaproxyConfig({ ...HAPROXY_DEFAULTS, tlsCertFile: null, bind: '127.0.0.1:8080' });
    expect(plain).toMatch(/^    bind 127.0.0.1:8080$/m);
    expect(plain).not.toMatch(/ssl/);
    expect(renderHaproxyConfig({ ...HAPROXY_DEFAULTS, serverCaFile: '/etc/haproxy/devlic-ca.pem' })).toMatch(/ssl verify required ca-file \/etc\/haproxy\/devlic-ca.pem$/m);
  });

  it('refuses names, addresses and paths that would break out of their line, with CONFIG_INVALID', () => {
    const bad: Partial<typeof HAPROXY_DEFAULTS>[] = [
      { servers: [] },
      { servers: [{ name: 'a\n    server evil 1.2.3.4:80', address: '10.0.0.1:8470' }] },
      { servers: [{ name: 'a', address: '10.0.0.1:8470 backup' }] },
      { servers: [{ name: 'a', address: '10.0.0.1' }] },
      { servers: [{ name: 'a', address: '10.0.0.1:70000' }] },
      { servers: [{ name: 'a', address: '10.0.0.1:1' }, { name: 'a', address: '10.0.0.2:1' }] },
      { bind: ':443 ssl crt /tmp/x' },
      { tlsCertFile: 'relative.pem' },
      { statsSocket: '/run/a b.sock' },
      { log: '/dev/log\nlisten x' },
      { maxWaitSeconds: MAX_WAIT_SECONDS + 1 },
      { replicaMaxConnections: 10 },
    ];
    for (const b of bad) {
      expect(() => renderHaproxyConfig({ ...HAPROXY_DEFAULTS, ...b }), JSON.stringify(b)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
    expect(renderHaproxyConfig({ ...HAPROXY_DEFAULTS, servers: [{ name: 'r-1.a_b', address: '[fd00::1]:8470' }, { name: 'r2', address: 'replica2.internal:8470' }] })).toMatch(/server r-1.a_b \[fd00::1\]:8470\n    server r2 replica2.internal:8470/);
  });
});
