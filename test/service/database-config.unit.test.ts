// The `database` setting of devlic-server: default none (SQLite), a
// postgres:// URL accepted, anything else refused with CONFIG_INVALID and
// without echoing the value (it may hold a password).
import { expect, it } from 'vitest';
import { loadServerConfig, SERVER_DEFAULTS } from '../../service/config.ts';
import { redactUrl } from '../../service/store/postgres/url.ts';

it('defaults to no database (SQLite in the data dir) and a pool of 10', () => {
  expect(SERVER_DEFAULTS.database).toBeNull();
  expect(loadServerConfig(undefined, {}).database).toBeNull();
  expect(loadServerConfig(undefined, {}).databasePoolSize).toBe(10);
});

it('accepts postgres:// and postgresql:// URLs', () => {
  for (const url of ['postgres://devlic:pw@db.example.org:5432/devlic', 'postgresql://devlic@127.0.0.1/devlic?sslmode=require']) {
    expect(loadServerConfig(undefined, { database: url }).database).toBe(url);
  }
});

it('refuses other URLs and non-URLs with CONFIG_INVALID, never echoing them', () => {
  for (const bad of ['mysql://root:hunter2@localhost/x', 'hunter2', 'sqlite:///var/lib/x.db']) {
    let err: any;
    try { loadServerConfig(undefined, { database: bad }); } catch (e) { err = e; }
    expect(err?.code, bad).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/^database: /);
    expect(err.message).not.toContain('hunter2');
  }
  expect(() => loadServerConfig(undefined, { databasePoolSize: 0 })).toThrow(/databasePoolSize/);
});

it('redactUrl masks the password and keeps the rest', () => {
  expect(redactUrl('postgres://devlic:s3cret@db:5432/devlic?sslmode=require')).toBe('postgres://devlic:***@db:5432/devlic?sslmode=require');
  expect(redactUrl('postgres://devlic@db/devlic')).toBe('postgres://devlic@db/devlic');
  expect(redactUrl('not a url s3cret')).not.toContain('s3cret');
});
