// `devlic-server keys list|rotate|retire` and the keyring file behind it
// (service/keys.ts), on real files in temp dirs: the command-line contract
// (usage exits 2, refusals exit 1 with a code, --json), refusals that change
// nothing (no keyring yet, a file others can read, a concurrent change, the
// active key, too many published keys), the upgrade of the single-key file
// of earlier versions, and the chain link each rotation leaves, checked with
// the agent's own rule.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { NODE, ROOT, tempDir } from '../helpers/processes.ts';
import type { CliResult } from '../agent/helpers/agent.ts';
import { generateSigningKey, publicJwk } from '../../shared/token.ts';
import { extendPins } from '../../shared/keychain.ts';
import { listKeys, loadOrCreateKeys, MAX_PUBLISHED_KEYS, retireKey, rotateKey } from '../../service/keys.ts';

function keys(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(NODE, [join(ROOT, 'service/main.ts'), 'keys', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function dataDir(): string {
  const d = join(tempDir('keys'), 'data');
  mkdirSync(d, { mode: 0o700 });
  return d;
}
const ringOf = (d: string) => JSON.parse(readFileSync(join(d, 'signing-key.json'), 'utf8'));
const fileText = (d: string) => readFileSync(join(d, 'signing-key.json'), 'utf8');

// Each command is a Node process loading the service: seconds apiece on a busy machine.
vi.setConfig({ testTimeout: 180_000 });

describe('devlic-server keys: command line', () => {
  it('wrong usage exits 2 with the reason; --help exits 0', async () => {
    const d = dataDir();
    const cases = [
      [[], /missing keys command/],
      [['frob'], /unknown keys command 'frob'/],
      [['retire'], /needs the KID/],
      [['retire', 'a', 'b'], /takes one KID/],
      [['list', 'extra'], /takes no arguments/],
      [['rotate', '--bogus'], /Unknown option '--bogus'/],
    ] as const;
    const [h, rh, ...results] = await Promise.all([keys(['--help']), keys(['rotate', '--help']), ...cases.map(([args]) => keys([...args, '--data-dir', d]))]);
    cases.forEach(([args, msg], i) => {
      expect(results[i].code, `${args.join(' ')}: ${results[i].stderr}`).toBe(2);
      expect(results[i].stderr).toMatch(msg);
    });
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/keys rotate[\s\S]*Restart the service after/);
    expect(rh.code).toBe(0);
    expect(existsSync(join(d, 'signing-key.json'))).toBe(false);
  });

  it('before the service ever started there is nothing to list or rotate, and nothing is created', async () => {
    const d = dataDir();
    for (const r of await Promise.all([['list'], ['rotate'], ['retire', 'abc']].map((cmd) => keys([...cmd, '--data-dir', d])))) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no signing key in .*first start.*\[NOT_FOUND\]/);
    }
    expect(existsSync(join(d, 'signing-key.json'))).toBe(false);
  });

  it('list, rotate, retire with --json and as text; refusals change nothing', async () => {
    const d = dataDir();
    const first = (await loadOrCreateKeys(d)).signing.kid;
    const rot = await keys(['rotate', '--data-dir', d, '--json']);
    expect(rot.code, rot.stderr).toBe(0);
    const { kid } = JSON.parse(rot.stdout);
    expect(JSON.parse(rot.stdout)).toMatchObject({ previous: first, restartRequired: true });
    const text = await keys(['list', '--data-dir', d]);
    expect(text.stdout).toMatch(new RegExp(`^KID +CREATED +STATE\\n${first} .* previous\\n${kid} .* active\\n$`));
    expect(statSync(join(d, 'signing-key.json')).mode & 0o777).toBe(0o600);

    const before = fileText(d);
    // One after the other: two key commands at once would meet the keyring's lock (CONFLICT, the lock's own refusal).
    const active = await keys(['retire', kid, '--data-dir', d]);
    const unknown = await keys(['retire', 'nope', '--data-dir', d]);
    expect(active.code).toBe(1);
    expect(active.stderr).toMatch(/is the active signing key; rotate first.*\[CONFLICT\]/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no signing key nope.*\[NOT_FOUND\]/);
    expect(fileText(d)).toBe(before);

    const ret = await keys(['retire', first, '--data-dir', d]);
    expect(ret.code, ret.stderr).toBe(0);
    expect(ret.stdout).toMatch(`Key ${first} retired; restart the service`);
    const again = JSON.parse((await keys(['retire', first, '--data-dir', d, '--json'])).stdout);
    expect(again).toMatchObject({ kid: first, state: 'retired', alreadyRetired: true, restartRequired: false });
    expect(JSON.parse((await keys(['list', '--data-dir', d, '--json'])).stdout).map((k: any) => k.state)).toEqual(['retired', 'active']);
  });

  it('reads the data folder from the service settings file (--config)', async () => {
    const d = dataDir();
    const first = (await loadOrCreateKeys(d)).signing.kid;
    const cfg = join(tempDir('keyscfg'), 'server.json');
    writeFileSync(cfg, JSON.stringify({ dataDir: d }));
    const r = await keys(['list', '--config', cfg, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ kid: first, state: 'active' })]);
  });

  it('refuses a keyring file that others can read, and a change while another runs', async () => {
    const d = dataDir();
    await loadOrCreateKeys(d);
    const file = join(d, 'signing-key.json');
    chmodSync(file, 0o644);
    const loose = await keys(['rotate', '--data-dir', d]);
    expect(loose.code).toBe(1);
    expect(loose.stderr).toMatch(/readable by others \(mode 644\); run: chmod 600.*\[CONFIG_INVALID\]/);
    chmodSync(file, 0o600);
    const before = fileText(d);
    writeFileSync(`${file}.lock`, '');
    const locked = await keys(['rotate', '--data-dir', d]);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/another key command is running.*\[CONFLICT\]/);
    expect(fileText(d)).toBe(before);
  });
});

describe('the keyring file', () => {
  it('upgrades the single-key file of earlier versions, keeping its issuer and kid, and chains from it', async () => {
    const d = dataDir();
    const old = generateSigningKey();
    const issuer = 'urn:devlic:server:legacy';
    writeFileSync(join(d, 'signing-key.json'), JSON.stringify({ issuer, kid: old.kid, privateKey: old.privateKey.export({ format: 'pem', type: 'pkcs8' }) }), { mode: 0o600 });
    const loaded = await loadOrCreateKeys(d);
    expect(loaded).toMatchObject({ issuer, signing: { kid: old.kid }, chain: [] });
    expect(loaded.jwks.keys).toEqual([await publicJwk(old.publicKey, old.kid)]);
    const r = await rotateKey(d);
    expect(r.previous).toBe(old.kid);
    const ring = ringOf(d);
    expect(ring).toMatchObject({ version: 2, issuer });
    expect(ring.keys[0].privateKey).toBeUndefined();
    // An agent that pinned the old key at enrollment reaches the new one.
    const added = await extendPins({ pinned: [await publicJwk(old.publicKey, old.kid)], issuer, links: (await loadOrCreateKeys(d)).chain, want: r.kid });
    expect(added.map((k) => k.kid)).toEqual([r.kid]);
  });

  it('publishes active and previous keys, oldest first, with a chain the agent walks from the first key', async () => {
    const d = dataDir();
    const k0 = await loadOrCreateKeys(d);
    const r1 = await rotateKey(d);
    const r2 = await rotateKey(d);
    await retireKey(d, k0.signing.kid);
    const now = await loadOrCreateKeys(d);
    expect(now.signing.kid).toBe(r2.kid);
    expect(now.jwks.keys.map((k) => k.kid)).toEqual([r1.kid, r2.kid]);
    expect(now.chain).toHaveLength(2);
    const added = await extendPins({ pinned: k0.jwks.keys, issuer: now.issuer, links: now.chain, want: r2.kid });
    expect(added.map((k) => k.kid)).toEqual([r1.kid, r2.kid]);
    expect((await listKeys(d)).map((k) => k.state)).toEqual(['retired', 'previous', 'active']);
  });

  it('two rotations at once: one wins, the other is refused, no key is lost', async () => {
    const d = dataDir();
    await loadOrCreateKeys(d);
    const out = await Promise.allSettled([rotateKey(d), rotateKey(d)]);
    expect(out.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((out.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason.code).toBe('CONFLICT');
    expect(await listKeys(d)).toHaveLength(2);
    expect(existsSync(join(d, 'signing-key.json.lock'))).toBe(false);
  });

  it(`refuses a rotation that would publish more than ${MAX_PUBLISHED_KEYS} keys`, async () => {
    const d = dataDir();
    await loadOrCreateKeys(d);
    for (let i = 1; i < MAX_PUBLISHED_KEYS; i++) await rotateKey(d);
    const before = fileText(d);
    await expect(rotateKey(d)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/retire old ones first/) });
    expect(fileText(d)).toBe(before);
    await retireKey(d, (await listKeys(d))[0].kid);
    await rotateKey(d);
    expect((await loadOrCreateKeys(d)).jwks.keys).toHaveLength(MAX_PUBLISHED_KEYS);
  });

  it('refuses a damaged keyring at service start', async () => {
    const d = dataDir();
    await loadOrCreateKeys(d);
    const ring = ringOf(d);
    delete ring.keys[0].privateKey;
    writeFileSync(join(d, 'signing-key.json'), JSON.stringify(ring), { mode: 0o600 });
    await expect(loadOrCreateKeys(d)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/has no private key/) });
    writeFileSync(join(d, 'signing-key.json'), '{"version":2}', { mode: 0o600 });
    await expect(loadOrCreateKeys(d)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/damaged/) });
  });
});
