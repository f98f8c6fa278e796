// The product catalogue is data, seeded with the two device-licensed
// Microsoft 365 Apps products from the source document; more can be added.
import type { Store } from '../store/store.ts';

export const SEED_PRODUCTS = [
  { sku: 'M365_APPS_ENTERPRISE_DEVICE', name: 'Microsoft 365 Apps for enterprise (device)', channel: 'commercial (Enterprise Agreement)' },
  { sku: 'M365_APPS_EDUCATION_DEVICE', name: 'Microsoft 365 Apps for education (device)', channel: 'education (EES)' },
] as const;

export async function seedCatalogue(store: Store, nowIso: string): Promise<void> {
  await store.transaction(async (tx) => {
    for (const p of SEED_PRODUCTS) await tx.catalogue.seed(p, nowIso);
  });
}
