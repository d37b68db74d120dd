/**
 * The tomcat plugin on Debian's own instance (/var/lib/tomcat10, whose conf is a link to
 * /etc/tomcat10 and logs/work links into /var/log and /var/cache), introspected as the package
 * installed it, then rehydrated with the test kit into a temporary root and started on a new port.
 * The instance is the machine's own, which the three-tier test and walk-through also configure
 * (an application, a JDBC resource), possibly while this file runs: so only what every state of it
 * shares is asserted here, and the "unchanged" listing covers CATALINA_HOME, which nobody edits
 * (test/products/tomcat.test.ts checks a whole private instance).
 */
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dehydrate, lifecycle, rehydrate, type Dehydrated } from '../../services/authoring/testkit.js';
import { freePort } from '../support/sshd.mjs';
import { referenceListing, TOMCAT_HOME } from '../support/tomcat.mjs';

const run = promisify(execFile);
const TOMCAT = resolve(import.meta.dirname, '../../plugins/tomcat');
const REFERENCE = [TOMCAT_HOME];


let tmp: string;
let before: string[];
let d: Dehydrated;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'abctl-tomcat-debian-'));
  before = await referenceListing(REFERENCE);
  d = await dehydrate({ plugin: TOMCAT, parameters: { 'catalina-base': '/var/lib/tomcat10' } });
}, 120_000);

afterAll(async () => {
  await d?.dispose();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

it('records Debian\'s layout: conf apart as root:tomcat, the base\'s links kept, the jars behind the links captured', async () => {
  const a = d.appliance;
  expect(a.properties.getValue('catalina.home')).toBe(TOMCAT_HOME);
  expect(a.inputs[0]).toMatchObject({ name: 'http', portProperty: 'connector.http.port' });
  expect(a.contentResources.map((r) => r.name)).toContain('server.xml');
  expect(a.fileSets.map((f) => [f.name, f.root, `${f.owner}:${f.group}`])).toEqual([
    ['home', TOMCAT_HOME, 'root:root'],
    ['base', '/var/lib/tomcat10', 'tomcat:tomcat'],
    ['conf', '/etc/tomcat10', 'root:tomcat'],
    ['java-libs', '/usr/share/java', 'root:root'],
  ]);
  const base = (await run('tar', ['-tvzf', d.archives.find((x) => x.fileSet === 'base')!.file])).stdout;
  expect(base).toMatch(/\.\/conf -> \/etc\/tomcat10/);
  expect(base).toMatch(/\.\/logs -> \.\.\/\.\.\/log\/tomcat10/);
});

it('rehydrates into a temporary root and starts there on a new port, leaving the package\'s files as they were', async () => {
  const root = join(tmp, 'root');
  await run('mkdir', ['-m', '0755', root]);
  await run('chmod', ['0755', tmp]);
  const port = await freePort();
  const done = await rehydrate(d, { root, properties: { 'connector.http.port': String(port) } });
  try {
    // conf pointed at where the conf file set landed; the logs link's target made for tomcat.
    expect(await readlink(join(root, 'var/lib/tomcat10/conf'))).toBe(join(root, 'etc/tomcat10'));
    expect(await readFile(join(root, 'etc/tomcat10/server.xml'), 'utf8')).toContain(`<Connector port="${port}"`);
    expect((await lstat(join(root, 'var/log/tomcat10'))).isDirectory()).toBe(true);
    await lifecycle(done.bundleDir, 'start');
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(res.status).toBe(200);
    expect((await lifecycle(done.bundleDir, 'ping')).health).toMatchObject({ healthy: true });
  } finally {
    await lifecycle(done.bundleDir, 'stop');
  }
  expect((await lifecycle(done.bundleDir, 'ping')).health).toMatchObject({ healthy: false });
  expect(await referenceListing(REFERENCE)).toEqual(before);
}, 120_000);
