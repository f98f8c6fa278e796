// The product catalogue is data, seeded with the two device-licensed
// Microsoft 365 Apps products from the source document; more can be added.
import type { DB } from '../store/db.ts';

export const SEED_PRODUCTS = [
  { sku: 'M365_APPS_ENTERPRISE_DEVICE', name: 'Microsoft 365 Apps for enterprise (device)', channel: 'commercial (Enterprise Agreement)' },
  { sku: 'M365_APPS_EDUCATION_DEVICE', name: 'Microsoft 365 Apps for education (device)', channel: 'education (EES)' },
] as const;

export function seedCatalogue(db: DB, nowIso: string): void {
  const insert = db.prepare('INSERT OR IGNORE INTO products (sku, name, channel, created_at) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (const p of SEED_PRODUCTS) insert.run(p.sku, p.name, p.channel, nowIso);
  })();
}
