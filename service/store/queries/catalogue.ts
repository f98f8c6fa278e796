// The product catalogue's queries (products table).
import type { SqlConn } from '../sql.ts';

export type ProductKind = 'device' | 'user';
export interface ProductRow { sku: string; name: string; channel: string; kind: ProductKind }

export function catalogueQueries(c: SqlConn) {
  return {
    /** Adds a product unless its SKU exists; true when added. */
    async seed(p: ProductRow, at: string): Promise<boolean> {
      return (await c.run('INSERT INTO products (sku, name, channel, kind, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (sku) DO NOTHING',
        [p.sku, p.name, p.channel, p.kind, at])).changes > 0;
    },
    /** A product by SKU, or by name (case-insensitive). */
    byRef(ref: string): Promise<{ sku: string; name: string; kind: ProductKind } | undefined> {
      return c.get('SELECT sku, name, kind FROM products WHERE sku = ? OR lower(name) = lower(?)', [ref, ref]);
    },
    async skus(): Promise<string[]> {
      return (await c.all<{ sku: string }>('SELECT sku FROM products ORDER BY sku')).map((p) => p.sku);
    },
    list(): Promise<ProductRow[]> {
      return c.all('SELECT sku, name, channel, kind FROM products ORDER BY name');
    },
    /** The kind of a subscription's product: what it may be assigned to. */
    async kindOfSubscription(subscriptionId: string): Promise<ProductKind | null> {
      return (await c.get<{ kind: ProductKind }>('SELECT p.kind FROM subscriptions s JOIN products p ON p.sku = s.product_sku WHERE s.id = ?', [subscriptionId]))?.kind ?? null;
    },
  };
}
export type CatalogueQueries = ReturnType<typeof catalogueQueries>;
