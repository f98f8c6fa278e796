// The service database's schema, as an ordered list of migrations. A
// migration is never edited once released: add a new one instead.

export const MIGRATIONS: string[] = [
  /* 1: initial schema */ `
  CREATE TABLE products (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    product_sku TEXT NOT NULL REFERENCES products(sku),
    seats INTEGER NOT NULL CHECK (seats >= 0),
    term_end TEXT,
    suspended INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    ord INTEGER NOT NULL
  );
  CREATE INDEX subscriptions_term_end ON subscriptions(term_end);
  CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at TEXT NOT NULL
  );
  CREATE TABLE group_children (
    parent_id TEXT NOT NULL REFERENCES groups(id),
    child_id TEXT NOT NULL REFERENCES groups(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (parent_id, child_id)
  );
  CREATE INDEX group_children_child ON group_children(child_id);
  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    machine_id_hash TEXT NOT NULL,
    hardware_uuid TEXT NOT NULL,
    facts TEXT NOT NULL,
    public_key TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    enrolled_at TEXT NOT NULL,
    last_seen_at TEXT,
    last_report TEXT
  );
  CREATE UNIQUE INDEX devices_identity ON devices(machine_id_hash, hardware_uuid);
  CREATE INDEX devices_name ON devices(name);
  -- ord is a global, ever-increasing number: "earliest member first" for seats.
  CREATE TABLE group_members (
    ord INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id TEXT NOT NULL REFERENCES groups(id),
    device_id TEXT NOT NULL REFERENCES devices(id),
    added_at TEXT NOT NULL,
    UNIQUE (group_id, device_id)
  );
  CREATE INDEX group_members_device ON group_members(device_id);
  CREATE TABLE assignments (
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id),
    group_id TEXT NOT NULL UNIQUE REFERENCES groups(id),
    created_at TEXT NOT NULL
  );
  CREATE INDEX assignments_subscription ON assignments(subscription_id);
  -- The service's current answer for each device; seq grows on every change.
  CREATE TABLE device_entitlements (
    device_id TEXT PRIMARY KEY REFERENCES devices(id),
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    product_sku TEXT,
    subscription_id TEXT,
    group_id TEXT,
    changed_at TEXT NOT NULL,
    token TEXT,
    token_iat INTEGER
  );
  CREATE INDEX device_entitlements_status ON device_entitlements(status, reason);
  CREATE TABLE enroll_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    uses_left INTEGER NOT NULL,
    group_id TEXT REFERENCES groups(id),
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
  );
  CREATE TABLE admins (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('global-admin', 'reader')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
  );
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL
  );
  CREATE TABLE device_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL REFERENCES devices(id),
    at TEXT NOT NULL,
    report TEXT NOT NULL
  );
  CREATE INDEX device_reports_device ON device_reports(device_id, id);
  `,
  /* 2: seat usage kept by every recompute, so read models need not re-run the allocation */ `
  CREATE TABLE subscription_usage (
    subscription_id TEXT PRIMARY KEY REFERENCES subscriptions(id),
    seats_used INTEGER NOT NULL,
    seats_exhausted INTEGER NOT NULL,
    devices_reached INTEGER NOT NULL
  );
  CREATE TABLE group_reach (
    group_id TEXT PRIMARY KEY REFERENCES groups(id),
    devices_reached INTEGER NOT NULL
  );
  `,
  /* 3: matching hardware facts no longer hand over a device: duplicates are allowed and flagged; merged ids are remembered */ `
  DROP INDEX devices_identity;
  CREATE INDEX devices_identity ON devices(machine_id_hash, hardware_uuid);
  ALTER TABLE devices ADD COLUMN duplicate_of TEXT REFERENCES devices(id);
  -- An id retired by 'devices merge' and the device it became: its agent is told where it went.
  CREATE TABLE device_merges (
    retired_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    merged_at TEXT NOT NULL
  );
  CREATE INDEX device_merges_device ON device_merges(device_id);
  `,
  /* 4: lifecycle: retired devices (who/when/why), revoked admin and enrollment tokens */ `
  ALTER TABLE devices ADD COLUMN retired_at TEXT;
  ALTER TABLE devices ADD COLUMN retired_by_id TEXT;
  ALTER TABLE devices ADD COLUMN retired_by_name TEXT;
  ALTER TABLE devices ADD COLUMN retired_reason TEXT;
  -- The stale-device timer looks for devices in service not seen since a time.
  CREATE INDEX devices_seen ON devices(COALESCE(last_seen_at, enrolled_at)) WHERE retired_at IS NULL;
  ALTER TABLE admins ADD COLUMN revoked_at TEXT;
  ALTER TABLE admins ADD COLUMN revoked_by_id TEXT;
  ALTER TABLE admins ADD COLUMN revoked_by_name TEXT;
  ALTER TABLE enroll_tokens ADD COLUMN revoked_at TEXT;
  ALTER TABLE enroll_tokens ADD COLUMN revoked_by_id TEXT;
  ALTER TABLE enroll_tokens ADD COLUMN revoked_by_name TEXT;
  `,
  /* 5: the last reported mode in a column of its own, so lists filter by it without JSON in SQL (the same query on PostgreSQL) */ `
  ALTER TABLE devices ADD COLUMN last_mode TEXT;
  UPDATE devices SET last_mode = json_extract(last_report, '$.mode') WHERE last_report IS NOT NULL AND json_valid(last_report);
  `,
  /* 6: whether the last report said every enforcer holds the mode ('ok' / 'failing'; NULL: unknown, e.g. an agent that does not report it), for the "not enforced" filter. Reports before this have no such field: nothing to fill in. */ `
  ALTER TABLE devices ADD COLUMN last_enforced TEXT;
  `,
  /* 7: device lists are ordered by enrolment: a page walks this index instead of sorting the whole fleet */ `
  CREATE INDEX devices_enrolled ON devices(enrolled_at, id);
  `,
  /* 8: licence counts per (status, reason) kept by triggers, instead of an index on the columns every recompute changes (on PostgreSQL that index made no entitlement update HOT) */ `
  DROP INDEX device_entitlements_status;
  CREATE TABLE entitlement_counts (
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (status, reason)
  );
  INSERT INTO entitlement_counts (status, reason, n) SELECT status, reason, COUNT(*) FROM device_entitlements GROUP BY status, reason;
  CREATE TRIGGER entitlement_counts_insert AFTER INSERT ON device_entitlements BEGIN
    INSERT INTO entitlement_counts (status, reason, n) VALUES (new.status, new.reason, 1)
      ON CONFLICT (status, reason) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER entitlement_counts_delete AFTER DELETE ON device_entitlements BEGIN
    UPDATE entitlement_counts SET n = n - 1 WHERE status = old.status AND reason = old.reason;
  END;
  CREATE TRIGGER entitlement_counts_update AFTER UPDATE OF status, reason ON device_entitlements
    WHEN old.status <> new.status OR old.reason <> new.reason BEGIN
    UPDATE entitlement_counts SET n = n - 1 WHERE status = old.status AND reason = old.reason;
    INSERT INTO entitlement_counts (status, reason, n) VALUES (new.status, new.reason, 1)
      ON CONFLICT (status, reason) DO UPDATE SET n = n + 1;
  END;
  `,
  /* 9: rule-based groups (issue 14): a group's rule (NULL: members by hand), admin-set device tags, and the reported agent version in a column (a fact rules can name) */ `
  ALTER TABLE groups ADD COLUMN rule TEXT;
  ALTER TABLE devices ADD COLUMN agent_version TEXT;
  UPDATE devices SET agent_version = json_extract(last_report, '$.agentVersion') WHERE last_report IS NOT NULL AND json_valid(last_report);
  -- Tags are stored lower-case: rules compare them ignoring case.
  CREATE TABLE device_tags (
    device_id TEXT NOT NULL REFERENCES devices(id),
    tag TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (device_id, tag)
  );
  `,
  /* directory groups (issue 14): LDAP / Active Directory connections and groups whose members are a directory group's computer objects */ `
  -- bind_password is sealed with the site key (service/directories/secret.ts), never stored in clear.
  CREATE TABLE directories (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    url TEXT NOT NULL,
    bind_dn TEXT NOT NULL,
    bind_password TEXT NOT NULL,
    base_dn TEXT NOT NULL,
    sync_seconds INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    next_sync_at TEXT NOT NULL,
    last_sync_at TEXT,
    last_sync_ok INTEGER,
    last_sync_error TEXT,
    last_sync_counts TEXT
  );
  ALTER TABLE groups ADD COLUMN directory_id TEXT REFERENCES directories(id);
  ALTER TABLE groups ADD COLUMN directory_dn TEXT;
  `,
  /* rule groups (issue 14): the OS version agents report in a column of its own, a fact rules can name (older agents never send it: NULL, unknown) */ `
  ALTER TABLE devices ADD COLUMN os_version TEXT;
  UPDATE devices SET os_version = json_extract(last_report, '$.osVersion') WHERE last_report IS NOT NULL AND json_valid(last_report);
  `,
  /* user licences (issue 16): products of kind 'user', user groups with members by normalised sign-in name (shared/sign-in.ts), their assignments, and each person's current answer (seq grows on every change) */ `
  ALTER TABLE products ADD COLUMN kind TEXT NOT NULL DEFAULT 'device' CHECK (kind IN ('device', 'user'));
  CREATE TABLE user_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at TEXT NOT NULL
  );
  -- ord: earliest member first for seats, as for devices.
  CREATE TABLE user_group_members (
    ord INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id TEXT NOT NULL REFERENCES user_groups(id),
    user_name TEXT NOT NULL,
    added_at TEXT NOT NULL,
    UNIQUE (group_id, user_name)
  );
  CREATE INDEX user_group_members_user ON user_group_members(user_name);
  CREATE TABLE user_assignments (
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id),
    group_id TEXT NOT NULL UNIQUE REFERENCES user_groups(id),
    created_at TEXT NOT NULL
  );
  CREATE INDEX user_assignments_subscription ON user_assignments(subscription_id);
  CREATE TABLE user_entitlements (
    user_name TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    product_sku TEXT,
    subscription_id TEXT,
    group_id TEXT,
    changed_at TEXT NOT NULL
  );
  `,
  /* directory user groups (issue 16): a user group may follow a directory group (its members the group's user objects, synced with the directory); directory_sync: the last good sync's counts and skipped names (JSON) */ `
  ALTER TABLE user_groups ADD COLUMN directory_id TEXT REFERENCES directories(id);
  ALTER TABLE user_groups ADD COLUMN directory_dn TEXT;
  ALTER TABLE user_groups ADD COLUMN directory_sync TEXT;
  CREATE INDEX user_groups_directory ON user_groups(directory_id);
  `,
  /* directory groups, gaps (issue 14): per directory a CA certificate to trust (PEM; public, not sealed) and StartTLS; and what the last sync read of each directory group, its computer objects with their match keys (service/directories/match.ts keysOf, k1 most specific), so a device that enrolls joins at once */ `
  ALTER TABLE directories ADD COLUMN ca_cert TEXT;
  ALTER TABLE directories ADD COLUMN start_tls INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE directory_computers (
    group_id TEXT NOT NULL REFERENCES groups(id),
    dn TEXT NOT NULL,
    cn TEXT,
    dns_host_name TEXT,
    k1 TEXT,
    k2 TEXT,
    k3 TEXT,
    PRIMARY KEY (group_id, dn)
  );
  CREATE INDEX directory_computers_k1 ON directory_computers(k1);
  CREATE INDEX directory_computers_k2 ON directory_computers(k2);
  CREATE INDEX directory_computers_k3 ON directory_computers(k3);
  -- When the last sync read the group (null: not since this migration, so no enrollment is matched against it until then).
  ALTER TABLE groups ADD COLUMN directory_read_at TEXT;
  `,
  /* entitlement_counts across updates: kept by the recompute's write (entitlementQueries.applyChanges, one delta per move), the only
     writer of a row's status or reason, instead of a per-row trigger that ran two statements for every changed row */ `
  DROP TRIGGER entitlement_counts_update;
  `,
  /* sign-in domain aliases (issue 16): which DNS domain an admin says a NetBIOS domain stands for (shared/sign-in-domains.ts); dns_domain NULL once removed, the row kept so that generation (bumped on every add and remove) keeps growing */ `
  CREATE TABLE sign_in_domains (
    netbios TEXT PRIMARY KEY,
    dns_domain TEXT,
    generation INTEGER NOT NULL,
    changed_at TEXT NOT NULL
  );
  `,
];
