/**
 * The PostgreSQL plugin on a cluster in Debian's layout (configuration in a directory of its own
 * that names the data directory, an include_dir, a tablespace, ALTER SYSTEM settings, ssl on with a key of its
 * own), all private: a temp dir and a free port. Checks that the paths into both directories
 * follow the file sets, that the plan's values beat includes and postgresql.auto.conf, and that
 * a TLS key is never captured: rehydrate says so, and a plan with ssl off deploys. A table in a
 * tablespace outside the data directory travels in a file set of its own.
 */
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, readlink, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { dehydrate, lifecycle, rehydrate, type Dehydrated } from '../../services/authoring/testkit.js';
import { LocalHost } from '../../services/host/local-host.js';
import { examplePlugins } from '../introspection/helpers.js';
import { asPostgres, checksumListing, postgresAccount, startCluster, tcpQuery, type TestCluster } from '../support/postgresql.mjs';
import { freePort } from '../support/sshd.mjs';

const PLUGIN = join(examplePlugins, 'postgresql');

let cluster: TestCluster;
let work: string;
let dehydrated: Dehydrated | undefined;
let deployedData: string | undefined;

beforeAll(async () => {
  cluster = await startCluster({ layout: 'debian', start: false });
  const { uid, gid } = await postgresAccount();
  const crt = join(cluster.configDir, 'server.crt');
  const key = join(cluster.configDir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=reference', '-keyout', key, '-out', crt], { stdio: 'ignore' });
  for (const f of [crt, key]) execFileSync('chown', [`${uid}:${gid}`, f]);
  await chmod(key, 0o600);
  const conf = join(cluster.configDir, 'postgresql.conf');
  await writeFile(conf, `${await readFile(conf, 'utf8')}ssl = on\nssl_cert_file = '${crt}'\nssl_key_file = '${key}'\n`);
  // An included file that sets a managed value: the plan's value must still win.
  await writeFile(join(cluster.configDir, 'conf.d', 'tuning.conf'), 'max_connections = 7\n');
  const ts = join(cluster.dir, 'tablespace');
  await mkdir(ts);
  await chown(ts, uid, gid);
  await cluster.start();
  await cluster.sql(`CREATE TABLESPACE extra LOCATION '${ts}'`);
  await cluster.sql("ALTER SYSTEM SET max_connections = 9; CREATE TABLE t (v text) TABLESPACE extra; INSERT INTO t VALUES ('debian layout');");
  await cluster.stop();
  work = await mkdtemp(join(tmpdir(), 'abctl-pg-debian-'));
  await chmod(work, 0o755);
}, 60_000);

afterAll(async () => {
  if (deployedData) await asPostgres([`${cluster.bin}/pg_ctl`, '-D', deployedData, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
  await cluster?.remove();
  await dehydrated?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

it('captures both directories and a tablespace, leaves the key behind, and deploys with the plan winning over includes and ALTER SYSTEM', async () => {
  const checksums = async () => [...(await checksumListing(cluster.dataDir)), ...(await checksumListing(cluster.configDir)), ...(await checksumListing(join(cluster.dir, 'tablespace')))];
  const before = await checksums();
  // Finding the cluster, describing it and dehydrate itself all need postgresql.conf: one read per job.
  // (A spy on the real host's reads; the files are read as always.)
  const reads = vi.spyOn(LocalHost.prototype, 'readText');
  try {
    dehydrated = await dehydrate({ plugin: PLUGIN, parameters: { cluster: cluster.configDir } });
    expect(reads.mock.calls.filter(([path]) => path === join(cluster.configDir, 'postgresql.conf'))).toHaveLength(1);
  } finally {
    reads.mockRestore();
  }
  const a = dehydrated.appliance;
  const [oid] = await readdir(join(cluster.dataDir, 'pg_tblspc'));
  expect(a.fileSets.map((f) => [f.name, f.root])).toEqual([
    ['binaries', '/usr/lib/postgresql/15'],
    ['share', '/usr/share/postgresql/15'],
    ['data', cluster.dataDir],
    ['config', cluster.configDir],
    [`tablespace-${oid}`, join(cluster.dir, 'tablespace')],
  ]);
  expect(a.properties.getValue('ssl')).toBe('true');
  expect(a.properties.getValue('config.directory')).toBe(cluster.configDir);
  expect(dehydrated.log.join('\n')).toContain('postgresql.auto.conf sets max_connections');
  const conf = Buffer.from(dehydrated.content.get(a.name)!.get('postgresql.conf')!).toString();
  expect(conf).toContain("data_directory = '{{[data.directory]}}'");
  expect(conf).toContain("hba_file = '{{[config.directory]}}/pg_hba.conf'");
  expect(conf).toContain("ssl_cert_file = '{{[config.directory]}}/server.crt'");
  expect(conf).toMatch(/^ssl = \{\{#if ssl\}\}on\{\{else\}\}off\{\{\/if\}\}$/m);
  // The capture skipped the key as a secret.
  const listing = execFileSync('tar', ['-tzf', dehydrated.archives.find((x) => x.fileSet === 'config')!.file], { encoding: 'utf8' });
  expect(listing).toContain('server.crt');
  expect(listing).not.toContain('server.key');

  const root = join(work, 'root');
  const port = await freePort();
  const plan = { port: String(port), 'superuser.password': 'deb-pass', 'hba.clients': '127.0.0.1/32', max_connections: '33' };
  await expect(rehydrate(dehydrated, { root, properties: plan })).rejects.toMatchObject({
    message: expect.stringContaining(`ssl is on but ${join(root, cluster.configDir)}/server.key is missing on this instance`),
  });

  const r = await rehydrate(dehydrated, { root, properties: { ...plan, ssl: 'false' } });
  deployedData = join(root, cluster.dataDir);
  const deployedConf = join(root, cluster.configDir);
  expect(await readFile(join(deployedConf, 'postgresql.conf'), 'utf8')).toContain(`hba_file = '${deployedConf}/pg_hba.conf'`);
  expect(await readFile(join(deployedData, 'postgresql.auto.conf'), 'utf8')).not.toContain('max_connections');
  // The table lives in the tablespace: the deployed cluster reads the deployed copy, not the reference's.
  expect(await readlink(join(deployedData, 'pg_tblspc', oid!))).toBe(join(root, cluster.dir, 'tablespace'));
  await lifecycle(r.bundleDir, 'start');
  expect(await tcpQuery({ port, password: 'deb-pass', sql: "SELECT v || ' ' || current_setting('max_connections') || ' ' || current_setting('ssl') || ' ' || current_setting('data_directory') FROM t" })).toBe(
    `debian layout 33 off ${deployedData}`,
  );
  expect((await lifecycle(r.bundleDir, 'ping')).health).toMatchObject({ healthy: true });
  await lifecycle(r.bundleDir, 'stop');

  expect(await checksums()).toEqual(before);
}, 120_000);
