// The product catalogue's queries (products table).
import type { SqlConn } from '../sql.ts';

export interface ProductRow { sku: string; name: string; channel: string }

export function catalogueQueries(c: SqlConn) {
  return {
    /** Adds a product unless its SKU exists; true when added. */
    async seed(p: ProductRow, at: string): Promise<boolean> {
      return (await c.run('INSERT INTO products (sku, name, channel, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (sku) DO NOTHING',
        [p.sku, p.name, p.channel, at])).changes > 0;
    },
    /** A product by SKU, or by name (case-insensitive). */
    byRef(ref: string): Promise<{ sku: string; name: string } | undefined> {
      return c.get('SELECT sku, name FROM products WHERE sku = ? OR lower(name) = lower(?)', [ref, ref]);
    },
    async skus(): Promise<string[]> {
      return (await c.all<{ sku: string }>('SELECT sku FROM products ORDER BY sku')).map((p) => p.sku);
    },
    list(): Promise<ProductRow[]> {
      return c.all('SELECT sku, name, channel FROM products ORDER BY name');
    },
  };
}
export type CatalogueQueries = ReturnType<typeof catalogueQueries>;
