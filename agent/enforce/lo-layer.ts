// LibreOffice configuration layers (.xcd): building one from a list of
// (path, prop, value) items, checking that what we built is well-formed and
// has the shape LibreOffice needs, and reading facts out of an install's own
// layers (version, which items its schema declares). A malformed layer stops
// LibreOffice for every user, so nothing here trusts its input.

export type LayerValue = boolean | number | string;

export interface LayerItem {
  /** e.g. '/org.openoffice.Office.Common/Misc' */
  path: string;
  /** e.g. 'ViewerAppMode' */
  prop: string;
  value: LayerValue;
}

/** The item devlic sets for read-only (exists in LibreOffice 26.8, not 25.2 or 7.4). */
export const VIEWER_MODE_ITEM: LayerItem = {
  path: '/org.openoffice.Office.Common/Misc',
  prop: 'ViewerAppMode',
  value: true,
};

const COMPONENT_RE = /^org(\.[A-Za-z][A-Za-z0-9]*)+$/;
const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;

interface ParsedItem { pkg: string; component: string; nodes: string[]; prop: string; value: LayerValue }

function parseItem(item: LayerItem): ParsedItem {
  const parts = item.path.split('/');
  if (parts[0] !== '' || parts.length < 3) throw new Error(`layer item path must look like /org.x.Component/Node: ${item.path}`);
  const full = parts[1];
  if (!COMPONENT_RE.test(full)) throw new Error(`bad component in layer item path: ${item.path}`);
  const dot = full.lastIndexOf('.');
  const nodes = parts.slice(2);
  for (const n of [...nodes, item.prop]) {
    if (!NAME_RE.test(n)) throw new Error(`bad node or property name in layer item: ${n}`);
  }
  if (typeof item.value === 'number' && !Number.isFinite(item.value)) throw new Error('layer value must be finite');
  return { pkg: full.slice(0, dot), component: full.slice(dot + 1), nodes, prop: item.prop, value: item.value };
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Tree { props: ParsedItem[]; children: Map<string, Tree> }

/**
 * The layer text. Every prop is finalized (else a user's own value wins) and
 * the layer depends on main.xcd (else, depending on directory order, it can
 * be read before the schema and dropped). Output is deterministic, so an
 * unchanged target gives byte-identical files.
 */
export function buildLayer(items: readonly LayerItem[]): string {
  if (items.length === 0) throw new Error('a layer needs at least one item');
  const byComponent = new Map<string, Tree>();
  for (const raw of items) {
    const it = parseItem(raw);
    const key = `${it.pkg}\u0000${it.component}`;
    let t: Tree | undefined = byComponent.get(key);
    if (!t) byComponent.set(key, (t = { props: [], children: new Map() }));
    for (const n of it.nodes) {
      let c: Tree | undefined = t.children.get(n);
      if (!c) t.children.set(n, (c = { props: [], children: new Map() }));
      t = c;
    }
    if (t.props.some((p) => p.prop === it.prop)) throw new Error(`duplicate layer item ${raw.path}/${raw.prop}`);
    t.props.push(it);
  }
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!-- Written by the devlic agent; removed when the device is in full mode. Do not edit. -->',
    '<oor:data xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:oor="http://openoffice.org/2001/registry">',
    '  <dependency file="main"/>',
  ];
  const emit = (t: Tree, indent: string) => {
    for (const p of t.props) {
      const v = typeof p.value === 'string' ? escapeXml(p.value) : String(p.value);
      out.push(`${indent}<prop oor:name="${p.prop}" oor:finalized="true">`, `${indent}  <value>${v}</value>`, `${indent}</prop>`);
    }
    for (const [name, c] of t.children) {
      out.push(`${indent}<node oor:name="${name}">`);
      emit(c, indent + '  ');
      out.push(`${indent}</node>`);
    }
  };
  for (const [key, t] of byComponent) {
    const [pkg, component] = key.split('\u0000');
    out.push(`  <oor:component-data oor:package="${pkg}" oor:name="${component}">`);
    emit(t, '    ');
    out.push('  </oor:component-data>');
  }
  out.push('</oor:data>', '');
  return out.join('\n');
}

/**
 * Throws unless `xml` is a well-formed document of the shape we generate:
 * one oor:data root, a dependency on main, and only finalized props. A small
 * checker is enough because we only ever check our own output; it rejects
 * anything outside the subset we write (DOCTYPE, CDATA, processing
 * instructions other than the declaration).
 */
export function checkLayer(xml: string): void {
  let s = xml;
  const decl = s.match(/^<\?xml version="1\.0" encoding="UTF-8"\?>\s*/);
  if (!decl) throw new Error('layer: missing XML declaration');
  s = s.slice(decl[0].length);
  const stack: string[] = [];
  let roots = 0;
  let sawDependency = false;
  let props = 0;
  const TOKEN = /<!--[\s\S]*?-->|<\/([A-Za-z_][\w:.-]*)\s*>|<([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)>|([^<]+)/y;
  let pos = 0;
  while (pos < s.length) {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(s);
    if (!m) throw new Error(`layer: not well-formed near offset ${decl[0].length + pos}`);
    pos = TOKEN.lastIndex;
    const [tok, close, open, attrs, selfClose, text] = m;
    if (tok.startsWith('<!--')) {
      if (tok.slice(4, -3).includes('--')) throw new Error('layer: "--" inside a comment');
      continue;
    }
    if (text !== undefined) {
      if (stack.length === 0 && text.trim() !== '') throw new Error('layer: text outside the root element');
      if (/&(?!(?:amp|lt|gt|quot|apos);)/.test(text)) throw new Error('layer: bare & in text');
      continue;
    }
    if (close !== undefined) {
      if (stack.pop() !== close) throw new Error(`layer: unbalanced </${close}>`);
      continue;
    }
    const names = [...attrs.matchAll(/([A-Za-z_][\w:.-]*)="/g)].map((a) => a[1]);
    if (new Set(names).size !== names.length) throw new Error(`layer: duplicate attribute on <${open}>`);
    if (stack.length === 0) {
      if (++roots > 1 || open !== 'oor:data') throw new Error('layer: the root must be one <oor:data>');
    }
    if (open === 'dependency' && stack.length === 1 && /\bfile="main"/.test(attrs)) sawDependency = true;
    if (open === 'prop') {
      props++;
      if (!/\boor:finalized="true"/.test(attrs)) throw new Error('layer: every prop must be oor:finalized="true"');
    }
    if (!selfClose) stack.push(open);
  }
  if (stack.length !== 0) throw new Error(`layer: unclosed <${stack[stack.length - 1]}>`);
  if (roots !== 1) throw new Error('layer: no root element');
  if (!sawDependency) throw new Error('layer: missing <dependency file="main"/>');
  if (props === 0) throw new Error('layer: no prop');
}

/** The version in an install's main.xcd (ooSetupVersionAboutBox, e.g. "7.4.7.2"). */
export function versionFromMainXcd(mainXcd: string): string | undefined {
  const m = mainXcd.match(/<prop oor:name="ooSetupVersionAboutBox">\s*<value>([0-9][0-9.]*)<\/value>/)
    ?? mainXcd.match(/<prop oor:name="ooSetupVersion">\s*<value>([0-9][0-9.]*)<\/value>/);
  return m?.[1];
}

/**
 * Whether the schema in these .xcd texts declares the item. LibreOffice drops
 * layer data for names its schema lacks, silently, so this is how we know
 * whether a written item can take effect.
 * Returns undefined when the component's schema is not found at all.
 */
export function schemaDeclares(xcdTexts: readonly string[], item: LayerItem): boolean | undefined {
  const it = parseItem(item);
  const head = new RegExp(
    `<oor:component-schema(?=[^>]*\\soor:name="${it.component}")(?=[^>]*\\soor:package="${it.pkg.replace(/\./g, '\\.')}")[^>]*>`,
  );
  for (const text of xcdTexts) {
    const m = head.exec(text);
    if (!m) continue;
    const end = text.indexOf('</oor:component-schema>', m.index);
    const section = text.slice(m.index, end === -1 ? undefined : end);
    // Only the <component> part: <templates> holds reusable definitions
    // that are not items at these paths.
    const start = section.indexOf('<component>');
    if (start === -1) return false;
    const stack: string[] = [];
    const TAG = /<(\/?)(group|set|prop)\b([^>]*?)(\/?)>/g;
    TAG.lastIndex = start;
    for (let t = TAG.exec(section); t; t = TAG.exec(section)) {
      const [, closing, kind, attrs, self] = t;
      if (kind === 'prop') {
        if (closing) continue;
        const name = attrs.match(/oor:name="([^"]*)"/)?.[1];
        if (name === it.prop && stack.length === it.nodes.length && stack.every((n, k) => n === it.nodes[k])) return true;
      } else if (closing) {
        stack.pop();
      } else if (!self) {
        stack.push(attrs.match(/oor:name="([^"]*)"/)?.[1] ?? '');
      }
    }
    return false;
  }
  return undefined;
}
