import 'reflect-metadata';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Container } from 'inversify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { Appliance } from '../../core/metadata/appliance.js';
import { Assembly, AtomicAssembly } from '../../core/metadata/assembly.js';
import { REDACTED } from '../../core/metadata/redaction.js';
import { Catalog } from '../../catalog/catalog.js';
import { catalogModule } from '../../services/catalog/module.js';
import { InstanceLayout, instanceLayout } from '../../services/instance.js';
import { pluginsModule } from '../../services/plugins/module.js';
import { PluginUsage } from '../../services/plugins/plugin-usage.js';
import { tempDir } from '../helpers/plugins.js';
import { openCatalog, sampleAppliance, sampleAssembly, sampleAtomic, SECRET, snapshot } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
let catalog: Catalog;

beforeEach(async () => {
  ({ path: root, cleanup } = await tempDir('abctl-catalog-'));
  catalog = openCatalog(root);
});
afterEach(async () => cleanup());

async function expectUserError(p: Promise<unknown>, code: string): Promise<UserError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected UserError ${code}`).toBeInstanceOf(UserError);
  expect((err as UserError).code).toBe(code);
  return err as UserError;
}

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

function nestedAssembly(): Assembly {
  const sub = sampleAssembly('sub', [sampleAppliance('db', { creator: 'postgres' })]);
  const top = sampleAssembly('shop', [sampleAppliance('web'), sampleAtomic('pair'), sub]);
  top.connect('web/db', 'sub/db/http', 'user');
  top.addExternalResourceFor('pair/pair-1/db', 'ldap', 'user');
  return top;
}

describe('round trip', () => {
  it('an appliance comes back identical, with content', async () => {
    const a = sampleAppliance('web');
    await catalog.putAppliance(a, [{ resource: 'server.xml', data: '<Server port="8005"/>\n' }]);
    const back = await catalog.getAppliance('web');
    expect(back.toPlain()).toEqual(a.toPlain());
    expect(back.properties.getValue('admin.password')).toBe(SECRET);
    expect(back.properties.getValue('motd')).toBe('  spaced  ');
    expect(back.properties.get('unset')?.hasValue).toBe(false);
    expect((await catalog.readContent('web', 'server.xml')).toString()).toBe('<Server port="8005"/>\n');
  });

  it('atomic assemblies and nested assemblies come back identical', async () => {
    const atomic = sampleAtomic('pair');
    const shop = nestedAssembly();
    await catalog.commit({ put: [atomic, shop] });
    const a2 = await catalog.getAssembly('pair');
    expect(a2).toBeInstanceOf(AtomicAssembly);
    expect(a2.toPlain()).toEqual(atomic.toPlain());
    const s2 = await catalog.getAssembly('shop');
    expect(s2).toBeInstanceOf(Assembly);
    expect(s2.toPlain()).toEqual(shop.toPlain());
    const listed = await catalog.listAssemblies();
    expect(listed.problems).toEqual([]);
    expect(listed.items.map((x) => x.name)).toEqual(['pair', 'shop']);
  });

  it('stores one readable document per object, each with its format version', async () => {
    await catalog.commit({ put: [sampleAppliance('web'), nestedAssembly()] });
    const docs = (await allFiles(catalog.dir)).filter((f) => f.endsWith('.xml')).map((f) => f.slice(catalog.dir.length + 1)).sort();
    expect(docs).toEqual([
      'appliances/web/appliance.xml',
      'assemblies/shop/assembly.xml',
      'assemblies/shop/members/pair/appliances/pair-1/appliance.xml',
      'assemblies/shop/members/pair/appliances/pair-2/appliance.xml',
      'assemblies/shop/members/pair/assembly.xml',
      'assemblies/shop/members/sub/assembly.xml',
      'assemblies/shop/members/sub/members/db/appliance.xml',
      'assemblies/shop/members/web/appliance.xml',
    ]);
    for (const d of docs) {
      const text = await readFile(join(catalog.dir, d), 'utf8');
      expect(text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<(appliance|assembly|atomicAssembly) formatVersion="1" /);
    }
    const xml = await readFile(join(catalog.dir, 'appliances/web/appliance.xml'), 'utf8');
    // One element per property, on its own line.
    expect(xml).toContain('    <property name="port" type="int" category="user" required="false" description="" value="8080"/>\n');
  });

  it('a directory whose file names another object is reported, not loaded under the wrong name', async () => {
    await catalog.putAppliance(sampleAppliance('web'));
    await mkdir(join(catalog.dir, 'appliances/copy'));
    await writeFile(join(catalog.dir, 'appliances/copy/appliance.xml'), await readFile(join(catalog.dir, 'appliances/web/appliance.xml')));
    const listed = await catalog.listAppliances();
    expect(listed.items.map((a) => a.name)).toEqual(['web']);
    expect(listed.problems[0]?.file).toContain('appliances/copy');
  });
});

describe('passwords', () => {
  it('are never in clear text on disk; the key file is 0600; reads decrypt', async () => {
    await catalog.commit({ put: [sampleAppliance('web'), sampleAtomic('pair'), nestedAssembly()] });
    for (const f of await allFiles(root)) {
      const bytes = await readFile(f);
      expect(bytes.includes(SECRET), `clear password in ${f}`).toBe(false);
    }
    const xml = await readFile(join(catalog.dir, 'appliances/web/appliance.xml'), 'utf8');
    expect(xml).toMatch(/name="admin.password" type="password"[^>]* value="enc:v1:[A-Za-z0-9+/=]+"/);
    const key = await stat(join(root, 'config/catalog.key'));
    expect(key.mode & 0o777).toBe(0o600);
    expect((await catalog.getAssembly('pair')).toPlain()).toEqual(sampleAtomic('pair').toPlain());
  });

  it('each value gets its own IV, and an unchanged value keeps its ciphertext', async () => {
    const a = new Appliance({ name: 'x', creator: 'p', properties: [{ name: 'a', type: 'password', value: 'same' }, { name: 'b', type: 'password', value: 'same' }] });
    await catalog.putAppliance(a);
    const file = join(catalog.dir, 'appliances/x/appliance.xml');
    const first = await readFile(file, 'utf8');
    const values = [...first.matchAll(/value="(enc:v1:[^"]+)"/g)].map((m) => m[1]);
    expect(values).toHaveLength(2);
    expect(values[0]).not.toBe(values[1]);
    // A fresh process (no cache) putting the same object leaves the file alone.
    const report = await openCatalog(root).putAppliance(a);
    expect(report.written).toEqual([]);
    expect(await readFile(file, 'utf8')).toBe(first);
  });

  it('the redacted view masks them', async () => {
    await catalog.putAppliance(sampleAppliance('web'));
    const shown = JSON.stringify(catalog.redacted(await catalog.getAppliance('web')));
    expect(shown).not.toContain(SECRET);
    expect(shown).toContain(REDACTED);
  });

  it('a key file readable by others is refused with a chmod hint', async () => {
    await catalog.putAppliance(sampleAppliance('web'));
    await chmod(join(root, 'config/catalog.key'), 0o644);
    const err = await expectUserError(openCatalog(root).getAppliance('web'), 'CATALOG_KEY_UNSAFE');
    expect(err.hint).toContain('chmod 600');
    expect(err.where).toContain('catalog.key');
  });

  it('a missing key is named when a file holds passwords', async () => {
    await catalog.putAppliance(sampleAppliance('web'));
    await writeFile(join(root, 'config/catalog.key'), '');
    await chmod(join(root, 'config/catalog.key'), 0o600);
    await expectUserError(openCatalog(root).getAppliance('web'), 'CATALOG_KEY_INVALID');
  });
});

describe('damaged and newer files', () => {
  it('a corrupt file is named with line and column; the others still list', async () => {
    await catalog.commit({ put: [sampleAppliance('a1'), sampleAppliance('a2'), sampleAppliance('a3')] });
    const bad = join(catalog.dir, 'appliances/a2/appliance.xml');
    const text = await readFile(bad, 'utf8');
    await writeFile(bad, text.replace('</properties>', '</propertie>'));
    const listed = await openCatalog(root).listAppliances();
    expect(listed.items.map((a) => a.name)).toEqual(['a1', 'a3']);
    expect(listed.problems).toHaveLength(1);
    expect(listed.problems[0]?.file).toBe(bad);
    expect(listed.problems[0]?.message).toMatch(/Line: \d+, Column: \d+/);
    const err = await expectUserError(openCatalog(root).getAppliance('a2'), 'CATALOG_FILE_INVALID');
    expect(err.where).toBe(bad);
    expect(err.describe()).toContain(bad);
    // Writing another appliance still works.
    await catalog.putAppliance(sampleAppliance('a4'));
    expect((await catalog.describe()).problems).toHaveLength(1);
  });

  it('a valid XML file with bad metadata names the file and the field', async () => {
    await catalog.putAppliance(sampleAppliance('web'));
    const file = join(catalog.dir, 'appliances/web/appliance.xml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('name="port" type="int"', 'name="port" type="integer"'));
    const err = await expectUserError(openCatalog(root).getAppliance('web'), 'METADATA_INVALID');
    expect(err.where).toContain(file);
    expect(err.where).toContain('property "port"');
  });

  it('a file written by a newer abctl is refused clearly', async () => {
    await catalog.commit({ put: [sampleAppliance('old'), sampleAppliance('new')] });
    const file = join(catalog.dir, 'appliances/new/appliance.xml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('formatVersion="1"', 'formatVersion="2"'));
    const err = await expectUserError(openCatalog(root).getAppliance('new'), 'CATALOG_FORMAT_NEWER');
    expect(err.message).toContain('written by a newer abctl');
    expect(err.where).toBe(file);
    const listed = await openCatalog(root).listAppliances();
    expect(listed.items.map((a) => a.name)).toEqual(['old']);
    expect(listed.problems[0]?.code).toBe('CATALOG_FORMAT_NEWER');
  });

  it('a file without a format version is refused', async () => {
    await catalog.putAppliance(sampleAppliance('web'));
    const file = join(catalog.dir, 'appliances/web/appliance.xml');
    await writeFile(file, (await readFile(file, 'utf8')).replace(' formatVersion="1"', ''));
    const err = await expectUserError(openCatalog(root).getAppliance('web'), 'CATALOG_FILE_INVALID');
    expect(err.message).toContain('formatVersion');
  });
});

describe('edits touch only their own files', () => {
  it('editing one property of one appliance rewrites only that file', async () => {
    const many = Array.from({ length: 5 }, (_, i) => sampleAppliance(`app${i}`));
    const members = Array.from({ length: 20 }, (_, i) => sampleAppliance(`m${i}`));
    await catalog.commit({ put: [...many, sampleAssembly('big', members)] });
    const before = await snapshot(catalog.dir);

    const app = await catalog.getAppliance('app2');
    app.properties.set('port', 9090, 'user');
    const r1 = await catalog.putAppliance(app);
    expect(r1.written).toEqual(['appliances/app2/appliance.xml']);

    const big = await catalog.getAssembly('big');
    (big.getMember('m7') as Appliance).properties.set('port', 9191, 'user');
    const r2 = await catalog.putAssembly(big);
    expect(r2.written).toEqual(['assemblies/big/members/m7/appliance.xml']);
    expect(r2.unchanged).toBe(20); // assembly.xml and the 19 other members

    const after = await snapshot(catalog.dir);
    const changed = [...after.keys()].filter((k) => {
      const b = before.get(k);
      const a = after.get(k);
      return !b || !a || b.ino !== a.ino || b.mtimeMs !== a.mtimeMs;
    });
    expect(changed.sort()).toEqual(['.generation', 'appliances/app2/appliance.xml', 'assemblies/big/members/m7/appliance.xml']);
    expect((await catalog.getAppliance('app2')).properties.getValue('port')).toBe('9090');
  });

  it('removing a member removes its directory; adding one adds only its files', async () => {
    await catalog.putAssembly(sampleAssembly('shop', [sampleAppliance('a'), sampleAppliance('b')]));
    const shop = (await catalog.getAssembly('shop')) as Assembly;
    shop.removeMember('a');
    shop.addMember(sampleAppliance('c'));
    const r = await catalog.putAssembly(shop);
    expect(r.deleted).toEqual(['assemblies/shop/members/a']);
    expect([...r.written].sort()).toEqual(['assemblies/shop/assembly.xml', 'assemblies/shop/members/c/appliance.xml']);
    expect((await catalog.getAssembly('shop')).toPlain()).toEqual(shop.toPlain());
  });
});

describe('rules', () => {
  it('an appliance used by an assembly cannot be deleted', async () => {
    await catalog.commit({ put: [sampleAppliance('web'), sampleAtomic('pair'), sampleAssembly('shop', [sampleAppliance('web'), sampleAtomic('pair')])] });
    expect(await catalog.findUsers('web')).toEqual(['shop']);
    expect(await catalog.findUsers('pair')).toEqual(['shop']);
    const err = await expectUserError(catalog.deleteAppliance('web'), 'CATALOG_IN_USE');
    expect(err.message).toContain('"shop"');
    await expectUserError(catalog.deleteAssembly('pair'), 'CATALOG_IN_USE');
    // Deleting both in one change is fine.
    await catalog.commit({ delete: [{ assembly: 'shop' }, { appliance: 'web' }] });
    expect(await catalog.hasAppliance('web')).toBe(false);
    await catalog.deleteAssembly('pair');
    expect((await catalog.describe()).assemblies).toEqual([]);
  });

  it('appliances and assemblies share one namespace', async () => {
    await catalog.putAppliance(sampleAppliance('web'));
    await expectUserError(catalog.putAssembly(sampleAssembly('web', [])), 'NAME_DUPLICATE');
  });

  it('deleting something missing is an error', async () => {
    await expectUserError(catalog.deleteAppliance('ghost'), 'CATALOG_NOT_FOUND');
    await expectUserError(catalog.getAssembly('ghost'), 'CATALOG_NOT_FOUND');
  });

  it('names that look like paths stay inside the catalog', async () => {
    await catalog.commit({ put: [sampleAppliance('..'), sampleAppliance('.staging-x'), sampleAppliance('50%')] });
    expect((await catalog.listAppliances()).items.map((a) => a.name).sort()).toEqual(['..', '.staging-x', '50%']);
    expect((await readdir(join(catalog.dir, 'appliances'))).sort()).toEqual(['%2E.', '%2Estaging-x', '50%25']);
  });
});

describe('commit', () => {
  it('a failing change leaves the catalog as it was', async () => {
    await catalog.putAppliance(sampleAppliance('web'));
    const before = await snapshot(catalog.dir);
    const edited = await catalog.getAppliance('web');
    edited.properties.set('port', 1, 'user');
    await expectUserError(
      catalog.commit({ put: [edited, sampleAppliance('new')], content: [{ owner: 'new', resource: 'nope', data: 'x' }] }),
      'CATALOG_NOT_FOUND',
    );
    expect(await snapshot(catalog.dir)).toEqual(before);
  });

  it('a put that fails while its documents are being staged leaves no staging behind', async () => {
    await catalog.putAppliance(sampleAppliance('web'));
    const before = await snapshot(catalog.dir);
    // Documents are staged as they are rendered: the bad value in the last member comes after the others were written.
    const members = Array.from({ length: 40 }, (_, i) => sampleAppliance(`m${i}`));
    const bad = sampleAppliance('m40');
    bad.properties.set('motd', 'bell \u0007', 'user');
    await expectUserError(catalog.putAssembly(new Assembly({ name: 'big', members: [...members, bad] })), 'CATALOG_VALUE_INVALID');
    expect(await snapshot(catalog.dir)).toEqual(before);
    expect((await readdir(catalog.dir)).filter((e) => e.startsWith('.staging-'))).toEqual([]);
  });

  it('leftovers of an interrupted commit are cleaned up on the next operation', async () => {
    await catalog.putAppliance(sampleAppliance('web'));
    await mkdir(join(catalog.dir, '.staging-dead/appliances/ghost'), { recursive: true });
    await writeFile(join(catalog.dir, '.staging-dead/appliances/ghost/appliance.xml'), 'half');
    await mkdir(join(catalog.dir, '.replaced-dead'), { recursive: true });
    const listed = await openCatalog(root).listAppliances();
    expect(listed.items.map((a) => a.name)).toEqual(['web']);
    expect((await readdir(catalog.dir)).filter((e) => e.startsWith('.') && e !== '.generation')).toEqual([]);
  });

  it('content resources of members are written and read by owner path', async () => {
    await catalog.putAssembly(sampleAssembly('shop', [sampleAtomic('pair')]), [{ owner: 'shop/pair/pair-1', resource: 'server.xml', data: 'one' }]);
    expect((await catalog.readContent('shop/pair/pair-1', 'server.xml')).toString()).toBe('one');
    const r = await catalog.writeContent('shop/pair/pair-1', 'server.xml', 'two');
    expect(r.written).toEqual(['assemblies/shop/members/pair/appliances/pair-1/content/conf/server.xml']);
    expect((await catalog.readContent('shop/pair/pair-1', 'server.xml')).toString()).toBe('two');
    await expectUserError(catalog.writeContent('shop/pair/pair-1', 'other', 'x'), 'CATALOG_NOT_FOUND');
  });
});

describe('file set archives', () => {
  it('records size and sha256, siblings use the primary, verify notices damage', async () => {
    await catalog.putAssembly(sampleAtomic('pair'));
    await mkdir(join(root, 'tmp'), { recursive: true });
    const archive = join(root, 'tmp/home.tar.gz');
    await writeFile(archive, 'pretend this is gzip');
    const rec = await catalog.recordFileSet('pair/pair-1', 'home', archive);
    expect(rec.size).toBe(20);
    expect(rec.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(rec.path).toBe(join(catalog.dir, 'assemblies/pair/appliances/pair-1/filesets/home.tar.gz'));
    expect(await catalog.fileSetArchivePath('pair/pair-2', 'home')).toBe(rec.path);
    expect(await catalog.fileSetArchives('pair/pair-1')).toEqual([rec]);
    expect(await catalog.verifyFileSet('pair/pair-1', 'home')).toBe(true);
    const xml = await readFile(join(catalog.dir, 'assemblies/pair/appliances/pair-1/filesets/archives.xml'), 'utf8');
    expect(xml).toContain(`sha256="${rec.sha256}"`);
    expect(xml).toContain('formatVersion="1"');
    // Putting the assembly again keeps the archive and its record.
    await catalog.putAssembly(await catalog.getAssembly('pair'));
    expect(await catalog.verifyFileSet('pair/pair-1', 'home')).toBe(true);
    await writeFile(rec.path, 'tampered');
    expect(await catalog.verifyFileSet('pair/pair-1', 'home')).toBe(false);
    await expectUserError(catalog.recordFileSet('pair/pair-1', 'nope', archive), 'CATALOG_NOT_FOUND');
  });
});

describe('plugin usage', () => {
  const appliancesOf = (r: { uses: readonly { appliance: string; plugin: string; version?: string }[] }) => r.uses.map((u) => u.appliance);

  it('the catalog module rebinds PluginUsage to the catalog', async () => {
    await catalog.commit({
      put: [sampleAppliance('web'), sampleAppliance('db', { creator: 'postgres' }), sampleAtomic('pair'), sampleAssembly('shop', [sampleAppliance('db', { creator: 'postgres' })])],
    });
    const container = new Container();
    container.bind<InstanceLayout>(InstanceLayout).toConstantValue(instanceLayout(root));
    container.load(pluginsModule, catalogModule);
    const usage = container.get<PluginUsage>(PluginUsage);
    expect(appliancesOf(await usage.appliancesMadeWith(['tomcat']))).toEqual(['pair/pair-1', 'pair/pair-2', 'web']);
    expect(appliancesOf(await usage.appliancesMadeWith(['postgres']))).toEqual(['db', 'shop/db']);
    expect(await usage.appliancesMadeWith(['nginx'])).toEqual({ uses: [], unreadable: [] });
    expect(container.get(Catalog)).toBe(container.get(Catalog));
  });

  it('counts recorded participants (an atomic assembly\'s record covers its members) and keeps them in the XML', async () => {
    const participants = [{ name: 'tomcat', version: '2.1' }, { name: 'tomcat-ssl', version: '1.0' }];
    const web = new Appliance({ name: 'web', creator: 'tomcat', participants });
    // A member added without its own record (a plugin calling addAppliance itself) still counts through the assembly.
    const pair = new AtomicAssembly({ name: 'pair', creator: 'tomcat', participants, appliances: [{ name: 'pair-1', creator: 'tomcat' }] });
    await catalog.commit({ put: [web, pair, sampleAppliance('old')] });
    const xml = await readFile(join(catalog.dir, 'appliances/web/appliance.xml'), 'utf8');
    expect(xml).toMatch(/<participants>\s*<participant name="tomcat" version="2.1"\/>\s*<participant name="tomcat-ssl" version="1.0"\/>\s*<\/participants>\s*<resources/);
    expect((await catalog.getAppliance('web')).participants).toEqual(participants);
    // A record from before the list: no element, and the creator alone counts.
    expect(await readFile(join(catalog.dir, 'appliances/old/appliance.xml'), 'utf8')).not.toContain('participants');
    expect((await catalog.getAppliance('old')).participants).toEqual([]);
    expect(await catalog.appliancesMadeWith(['tomcat-ssl', 'nginx'])).toEqual({
      uses: [
        { appliance: 'pair/pair-1', plugin: 'tomcat-ssl', version: '1.0' },
        { appliance: 'web', plugin: 'tomcat-ssl', version: '1.0' },
      ],
      unreadable: [],
    });
    expect((await catalog.appliancesMadeWith(['tomcat'])).uses).toEqual([
      { appliance: 'old', plugin: 'tomcat' },
      { appliance: 'pair/pair-1', plugin: 'tomcat', version: '2.1' },
      { appliance: 'web', plugin: 'tomcat', version: '2.1' },
    ]);
  });

  it('reports damaged documents instead of skipping them, and still looks at the rest', async () => {
    await catalog.commit({ put: [sampleAppliance('web'), sampleAppliance('db', { creator: 'postgres' }), sampleAssembly('shop', [sampleAppliance('db2', { creator: 'postgres' })])] });
    await writeFile(join(catalog.dir, 'appliances/web/appliance.xml'), '<appliance formatVersion="1" name="web"');
    await writeFile(join(catalog.dir, 'assemblies/shop/members/db2/appliance.xml'), 'not xml');
    const report = await catalog.appliancesMadeWith(['postgres']);
    expect(appliancesOf(report)).toEqual(['db']);
    expect(report.unreadable.map((p) => p.file)).toEqual([join(catalog.dir, 'appliances/web/appliance.xml'), join(catalog.dir, 'assemblies/shop/members/db2/appliance.xml')]);
    expect(report.unreadable[0]?.message).toMatch(/XML/);
  });

  it('an empty instance has no usage', async () => {
    expect(await catalog.appliancesMadeWith(['tomcat'])).toEqual({ uses: [], unreadable: [] });
    expect(await catalog.describe()).toEqual({ appliances: [], assemblies: [], problems: [] });
  });
});

describe('createOnly commits', () => {
  it('refuse to replace an existing object, so two creators cannot overwrite each other', async () => {
    await catalog.commit({ put: [sampleAppliance('web')], createOnly: true });
    const before = await snapshot(root);
    await expectUserError(catalog.commit({ put: [sampleAppliance('web', { creator: 'other' })], createOnly: true }), 'CATALOG_NAME_TAKEN');
    expect(await snapshot(root)).toEqual(before);
    expect((await catalog.getAppliance('web')).creator).toBe('tomcat');
  });
});
