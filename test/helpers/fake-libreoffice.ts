// A LibreOffice install as far as the enforcer reads it: share/registry/main.xcd
// with the version and (for 26.8 and later) the ViewerAppMode property. One
// copy for every test that needs an install without the real app.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A main.xcd shaped like the real one, reduced to what the enforcer reads. */
export function mainXcd(version: string, withViewerAppMode: boolean): string {
  return `<?xml version="1.0"?>
<oor:data xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:oor="http://openoffice.org/2001/registry">
<oor:component-schema oor:name="Common" oor:package="org.openoffice.Office" xml:lang="en-US">
  <templates><group oor:name="Misc"><prop oor:name="ViewerAppMode" oor:type="xs:boolean"/></group></templates>
  <component>
    <group oor:name="Save"><prop oor:name="ShowTipOfTheDay" oor:type="xs:int"/></group>
    <group oor:name="Misc">
      <prop oor:name="ShowTipOfTheDay" oor:type="xs:boolean" oor:nillable="false"><value>true</value></prop>
      ${withViewerAppMode ? '<prop oor:name="ViewerAppMode" oor:type="xs:boolean" oor:nillable="false"><value>false</value></prop>' : ''}
    </group>
  </component>
</oor:component-schema>
<oor:component-data oor:name="Setup" oor:package="org.openoffice">
  <node oor:name="Product">
    <prop oor:name="ooSetupVersion"><value>${version.split('.').slice(0, 2).join('.')}</value></prop>
    <prop oor:name="ooSetupVersionAboutBox"><value>${version}</value></prop>
  </node>
</oor:component-data>
</oor:data>
`;
}

/**
 * Writes `root/share/registry/main.xcd` (or `root/registry/` for the macOS
 * layout), folders 0755; returns the registry folder.
 */
export function writeFakeLibreOffice(
  root: string,
  opts: { version?: string; viewerMode?: boolean; layout?: 'share' | 'mac' } = {},
): string {
  const version = opts.version ?? '26.8.0.1';
  const registry = opts.layout === 'mac' ? join(root, 'registry') : join(root, 'share', 'registry');
  mkdirSync(registry, { recursive: true, mode: 0o755 });
  writeFileSync(join(registry, 'main.xcd'), mainXcd(version, opts.viewerMode ?? true));
  return registry;
}
