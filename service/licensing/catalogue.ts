// The product catalogue is data, seeded with the two device-licensed
// Microsoft 365 Apps products from the source document and their per-user
// counterparts (issue 16); more can be added. A product's kind says what its
// subscriptions license: device groups ('device') or user groups ('user').
import type { Store } from '../store/store.ts';

export const SEED_PRODUCTS = [
  { sku: 'M365_APPS_ENTERPRISE_DEVICE', name: 'Microsoft 365 Apps for enterprise (device)', channel: 'commercial (Enterprise Agreement)', kind: 'device' },
  { sku: 'M365_APPS_EDUCATION_DEVICE', name: 'Microsoft 365 Apps for education (device)', channel: 'education (EES)', kind: 'device' },
  { sku: 'M365_APPS_ENTERPRISE_USER', name: 'Microsoft 365 Apps for enterprise (user)', channel: 'commercial (Enterprise Agreement)', kind: 'user' },
  { sku: 'M365_APPS_EDUCATION_USER', name: 'Microsoft 365 Apps for education (user)', channel: 'education (EES)', kind: 'user' },
] as const;

export async function seedCatalogue(store: Store, nowIso: string): Promise<void> {
  await store.transaction(async (tx) => {
    for (const p of SEED_PRODUCTS) await tx.catalogue.seed(p, nowIso);
  });
}
