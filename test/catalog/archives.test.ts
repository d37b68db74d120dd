/**
 * Captured archives are checked: their state is what the record and the file say, a
 * tampered or missing archive is reported by describe, refused by deployment plans and
 * listed by verifyCatalog. Real tar.gz archives made with tar, the real CLI.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFile, mkdir, open, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Appliance } from '../../core/metadata/appliance.js';
import type { Catalog, FileSetStatus } from '../../catalog/index.js';
import { projectRoot } from '../../services/instance.js';
import { tempDir } from '../helpers/plugins.js';
import { openCatalog } from './helpers.js';

const entry = join(projectRoot(), 'bin', 'abctl');

let tmp: { path: string; cleanup: () => Promise<void> };
let instance: string;
let catalog: Catalog;

function abctl(args: string[]) {
  const r = spawnSync(process.execPath, [entry, ...args], { env: { ...process.env, AB_INSTANCE: instance }, encoding: 'utf8', cwd: tmp.path });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A real gzip'd tar of a few files, as a capture leaves it in the instance tmp dir. */
async function makeArchive(name: string): Promise<string> {
  const src = join(tmp.path, `src-${name}`);
  await mkdir(src, { recursive: true });
  for (let i = 0; i < 5; i++) await writeFile(join(src, `f${i}.txt`), `file ${i} `.repeat(2000));
  const out = join(tmp.path, `${name}.archive`);
  execFileSync('tar', ['-czf', out, '-C', src, '.']);
  return out;
}

function web(name = 'web'): Appliance {
  return new Appliance({
    name,
    creator: 'tomcat',
    fileSets: [
      { name: 'home', root: '/opt/tomcat' },
      { name: 'logs', root: '/var/log/tomcat' },
      { name: 'shared', root: '/srv/shared', scope: 'shared', sharedType: 'NFS', captured: false },
    ],
  });
}

/** Overwrites 4 bytes in the middle of a file (size unchanged). */
async function tamper(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.write(Buffer.from('XXXX'), 0, 4, Math.floor((await fh.stat()).size / 2));
  } finally {
    await fh.close();
  }
}

const stateOf = (list: FileSetStatus[], owner: string, fileSet: string) => list.find((s) => s.appliance === owner && s.fileSet === fileSet)?.archive;

beforeEach(async () => {
  tmp = await tempDir();
  instance = join(tmp.path, 'instance');
  catalog = openCatalog(instance);
  await catalog.putAppliance(web());
});
afterEach(() => tmp.cleanup());

describe('archive state', () => {
  it('records size, SHA-256 and time, and tells captured, not captured, missing and damaged apart', async () => {
    const file = await makeArchive('home');
    const { size } = await stat(file);
    const sha256 = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
    const before = Date.now();
    const rec = await catalog.recordFileSet('web', 'home', file);
    expect(rec).toMatchObject({ name: 'home', codec: 'gzip', size, sha256 });
    expect(Date.parse(rec.capturedAt)).toBeGreaterThanOrEqual(before - 1000);

    let states = await catalog.fileSetStates('web');
    expect(stateOf(states, 'web', 'home')).toEqual({ state: 'captured', archive: rec });
    expect(stateOf(states, 'web', 'logs')).toEqual({ state: 'notCaptured' });
    expect(states.find((s) => s.fileSet === 'shared')).toMatchObject({ capturedByDefinition: false, archive: { state: 'notCaptured' } });

    await tamper(rec.path);
    expect((await stat(rec.path)).size).toBe(size);
    states = await catalog.fileSetStates('web');
    expect(stateOf(states, 'web', 'home')).toMatchObject({ state: 'damaged', reason: expect.stringContaining(`${sha256} was captured`) });
    expect(await catalog.verifyFileSet('web', 'home')).toBe(false);

    await appendFile(rec.path, 'more');
    expect(stateOf(await catalog.fileSetStates('web'), 'web', 'home')).toMatchObject({ state: 'damaged', reason: `the archive is ${size + 4} bytes, ${size} were captured` });

    await unlink(rec.path);
    expect(stateOf(await catalog.fileSetStates('web'), 'web', 'home')).toEqual({ state: 'missing', archive: rec });
  });

  it('takes the digest its writer computed instead of reading the archive again, but checks the size', async () => {
    const file = await makeArchive('home');
    const { size } = await stat(file);
    // A digest the capture engine computed while writing: recorded as given.
    const rec = await catalog.recordFileSet('web', 'home', file, { digest: { size, sha256: 'a'.repeat(64) } });
    expect(rec.sha256).toBe('a'.repeat(64));
    const other = await makeArchive('logs');
    await expect(catalog.recordFileSet('web', 'logs', other, { digest: { size: 1, sha256: 'b'.repeat(64) } })).rejects.toThrow(/bytes, its writer reported 1/);
  });

  it('addToAssembly takes the archives along (hard links), so a plan checks the copy', async () => {
    const rec = await catalog.recordFileSet('web', 'home', await makeArchive('home'));
    expect(abctl(['createAssembly', '--name', 'shop']).code).toBe(0);
    const r = abctl(['addToAssembly', '--assembly', 'shop', '--name', 'web', '--as', 'front']);
    expect(r.code, r.err).toBe(0);
    const [copy] = await catalog.fileSetArchives('shop/front');
    expect(copy).toMatchObject({ name: 'home', size: rec.size, sha256: rec.sha256, capturedAt: rec.capturedAt });
    expect((await stat(copy!.path)).ino).toBe((await stat(rec.path)).ino);
    expect(stateOf(await catalog.fileSetStates('shop'), 'shop/front', 'home')).toMatchObject({ state: 'captured' });
  });
});

describe('damaged and missing archives through the CLI', () => {
  let home: string;
  let logs: string;
  beforeEach(async () => {
    home = (await catalog.recordFileSet('web', 'home', await makeArchive('home'))).path;
    logs = (await catalog.recordFileSet('web', 'logs', await makeArchive('logs'))).path;
    expect(abctl(['createAssembly', '--name', 'shop']).code).toBe(0);
    expect(abctl(['addToAssembly', '--assembly', 'shop', '--name', 'web']).code).toBe(0);
  });

  it('describeAppliances shows the real state, text and --json', async () => {
    let r = abctl(['describeAppliances']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/file set home \(\/opt\/tomcat, local\): captured \S+: \S+home\.tar\.gz, \d+ bytes, sha256 [0-9a-f]{64} \(checked\)/);
    expect(r.out).toContain('file set shared (/srv/shared, shared NFS): not captured (the definition leaves these files to the target)');

    await tamper(home);
    await unlink(logs);
    r = abctl(['describeAppliances']);
    expect(r.out).toContain(`file set home (/opt/tomcat, local): DAMAGED: ${home}: its SHA-256 is`);
    expect(r.out).toContain(`file set logs (/var/log/tomcat, local): MISSING: ${logs}`);
    r = abctl(['describeAppliances', '--json']);
    const json = JSON.parse(r.out) as { appliances: { name: string; fileSetStates: { fileSet: string; state: string; archive?: { path: string }; reason?: string }[] }[] };
    expect(json.appliances[0]!.fileSetStates).toEqual([
      expect.objectContaining({ fileSet: 'home', state: 'damaged', archive: expect.objectContaining({ path: home }), reason: expect.stringContaining('SHA-256') }),
      expect.objectContaining({ fileSet: 'logs', state: 'missing', archive: expect.objectContaining({ path: logs }) }),
      expect.objectContaining({ fileSet: 'shared', state: 'notCaptured', capturedByDefinition: false }),
    ]);
  });

  it('createDeploymentPlan and validateDeploymentPlan refuse a tampered archive, naming appliance, file set and path', async () => {
    const plan = join(tmp.path, 'plan.xml');
    expect(abctl(['createDeploymentPlan', '--assembly', 'shop', '--out', plan]).code).toBe(0);
    // The assembly's copy shares the file: tampering with the catalog appliance's archive damages both.
    await tamper(home);
    let r = abctl(['validateDeploymentPlan', '--assembly', 'shop', '--plan', plan]);
    expect(r.code).toBe(1);
    expect(r.out).not.toContain('valid');
    expect(r.err).toContain('the archive of file set "home" of appliance "shop/web" is damaged: its SHA-256 is');
    expect(r.err).toContain(join(instance, 'catalog/assemblies/shop/members/web/filesets/home.tar.gz'));
    expect(r.err).toContain('captureFileSets --appliance NAME');
    r = abctl(['createDeploymentPlan', '--assembly', 'shop', '--out', join(tmp.path, 'plan2.xml')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('is damaged');
  });

  it('createDeploymentPlan refuses a missing archive', async () => {
    await rm(join(instance, 'catalog/assemblies/shop/members/web/filesets/logs.tar.gz'));
    const r = abctl(['createDeploymentPlan', '--assembly', 'shop', '--out', join(tmp.path, 'plan.xml')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('the archive of file set "logs" of appliance "shop/web" is missing');
    await expect(stat(join(tmp.path, 'plan.xml'))).rejects.toThrow();
  });

  it('verifyCatalog lists every problem and exits 1', async () => {
    let r = abctl(['verifyCatalog']);
    expect([r.code, r.out]).toEqual([0, `catalog ${join(instance, 'catalog')}: checked 2 objects and 4 archives\nno problems\n`]);
    await tamper(home);
    await unlink(join(instance, 'catalog/assemblies/shop/members/web/filesets/logs.tar.gz'));
    await writeFile(join(instance, 'catalog/appliances/web/filesets/stray.tar.gz'), 'x');
    r = abctl(['verifyCatalog', '--json']);
    expect(r.code).toBe(1);
    const v = JSON.parse(r.out) as { ok: boolean; archives: number; problems: { file: string; code: string; message: string }[] };
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => [p.code, p.file.slice(instance.length + 1)]).sort()).toEqual([
      ['ARCHIVE_DAMAGED', 'catalog/appliances/web/filesets/home.tar.gz'],
      ['ARCHIVE_DAMAGED', 'catalog/assemblies/shop/members/web/filesets/home.tar.gz'],
      ['ARCHIVE_MISSING', 'catalog/assemblies/shop/members/web/filesets/logs.tar.gz'],
      ['ARCHIVE_UNRECORDED', 'catalog/appliances/web/filesets/stray.tar.gz'],
    ]);
    r = abctl(['verifyCatalog']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('4 problems');
  });
});
