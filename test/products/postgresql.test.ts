/**
 * The PostgreSQL plugin against a real cluster: a private initdb cluster on a free port (no
 * mocks). Discovery finds it while it runs, introspection refuses it then, and once it is stopped
 * the test kit dehydrates and captures it, rehydrates it into a temp root with another port and
 * another superuser password, starts it with the captured binaries, queries it over TCP, pings,
 * stops and starts it. The reference data directory's checksum listing is the same afterwards.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { dehydrate, lifecycle, rehydrate, type Dehydrated } from '../../services/authoring/testkit.js';
import { bin, cliEnv, examplePlugins } from '../introspection/helpers.js';
import { asPostgres, checksumListing, startCluster, tcpQuery, type TestCluster } from '../support/postgresql.mjs';
import { freePort, startSshd, type SshdHandle } from '../support/sshd.mjs';

const PLUGIN = join(examplePlugins, 'postgresql');
const NEW_PASSWORD = "n3w 'pass' wörd";

let cluster: TestCluster;
let work: string;
let dehydrated: Dehydrated | undefined;
let deployedData: string | undefined;
let sshd: SshdHandle | undefined;

beforeAll(async () => {
  cluster = await startCluster();
  await cluster.sql("CREATE TABLE greeting (id int PRIMARY KEY, text text); INSERT INTO greeting VALUES (1, 'hello from the reference');");
  work = await mkdtemp(join(tmpdir(), 'abctl-pg-test-'));
  // The deployed cluster's programs run as postgres: every directory above its files must be open to it.
  await chmod(work, 0o755);
  sshd = await startSshd();
}, 60_000);

afterAll(async () => {
  if (deployedData) await asPostgres([`${cluster.bin}/pg_ctl`, '-D', deployedData, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
  await cluster?.remove();
  await sshd?.stop();
  await dehydrated?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

const overSsh = () => ['--host', sshd!.target, '--identity-file', sshd!.identityFile, '--known-hosts', sshd!.knownHostsFile];

function abctl(args: string[]) {
  const env = cliEnv(join(work, 'instance'), examplePlugins, { AB_POSTGRESQL_SEARCH: cluster.dir });
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('postgresql plugin on a private cluster', () => {
  it('discovers the running cluster from its postmaster, with version, port and state', () => {
    const r = abctl(['discover', '--json']);
    expect(r.code, r.err).toBe(0);
    const found = JSON.stringify(JSON.parse(r.out));
    expect(found).toContain(cluster.dataDir);
    expect(found).toMatch(new RegExp(`PostgreSQL 15 cluster in ${cluster.dataDir} on port ${cluster.port}, running \\(pid \\d+\\)`));
  });

  it('refuses to capture while the cluster runs, saying how to stop it', async () => {
    const err = await dehydrate({ plugin: PLUGIN, parameters: { cluster: cluster.dataDir } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // The framework reports the refusal as the user's to fix, naming the plugin that refused.
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^postgresql refused the capture/);
    expect((err as Error).message).toMatch(/is running \(pid \d+\).*stop it first: su postgres -c "pg_ctl -D .* -m fast stop"/);
  });

  it('over SSH: discovers the running cluster and refuses to capture it', () => {
    const found = abctl(['discover', '--json', ...overSsh()]);
    expect(found.code, found.err).toBe(0);
    expect(found.out).toMatch(new RegExp(`cluster in ${cluster.dataDir} on port ${cluster.port}, running`));
    const r = abctl(['introspectpostgresql', '--cluster', cluster.dataDir, '--name', 'refused', ...overSsh()]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/postgresql refused the capture of refused: PostgreSQL in .* is running \(pid \d+\)/);
  });

  it('introspects the stopped cluster, rehydrates it elsewhere with a new port and password, and serves the data', async () => {
    await cluster.stop();
    const before = await checksumListing(cluster.dataDir);

    // The same cluster through SSH: metadata only (the capture is the test kit's below).
    const remote = abctl(['introspectpostgresql', '--cluster', cluster.dataDir, '--name', 'pg-ssh', '--defer-capture', '--json', ...overSsh()]);
    expect(remote.code, remote.err).toBe(0);
    const described = abctl(['describeAppliances', '--name', 'pg-ssh', '--json']);
    expect(described.out).toContain(`"${cluster.dataDir}"`);
    expect(described.out).toContain('"pg_hba.conf"');

    dehydrated = await dehydrate({ plugin: PLUGIN, parameters: { cluster: cluster.dataDir } });
    const a = dehydrated.appliance;
    expect(a.properties.getValue('port')).toBe(String(cluster.port));
    expect(a.properties.getValue('listen_addresses')).toBe('127.0.0.1');
    expect(a.properties.getValue('hba.clients')).toBe('127.0.0.1/32,::1/128');
    expect(a.properties.getValue('hba.method')).toBe('scram-sha-256');
    expect(a.properties.getValue('superuser.name')).toBe('postgres');
    expect(a.properties.getValue('data.directory')).toBe(cluster.dataDir);
    expect(a.inputs.map((i) => [i.name, i.port, i.portProperty, i.protocols])).toEqual([['postgresql', cluster.port, 'port', ['postgresql']]]);
    expect(a.fileSets.map((f) => [f.name, f.root])).toEqual([
      ['binaries', '/usr/lib/postgresql/15'],
      ['share', '/usr/share/postgresql/15'],
      ['data', cluster.dataDir],
    ]);
    expect(a.getFileSet('data')?.excludes).toEqual(expect.arrayContaining(['postmaster.pid', 'postmaster.opts', 'log/*']));
    const conf = Buffer.from(dehydrated.content.get(a.name)!.get('postgresql.conf')!).toString();
    expect(conf).toMatch(/^port = \{\{port\}\}$/m);
    expect(conf).toMatch(/^#port = \d+\t# abctl/m);
    const hba = Buffer.from(dehydrated.content.get(a.name)!.get('pg_hba.conf')!).toString();
    expect(hba).toContain('# abctl:hba.clients {{[hba.clients]}} {{[hba.method]}}');
    expect(hba).not.toMatch(/^host\s+all\s+all/m);

    const root = join(work, 'root');
    const port = await freePort();
    const r = await rehydrate(dehydrated, {
      root,
      properties: { port: String(port), 'superuser.password': NEW_PASSWORD, 'hba.clients': '127.0.0.1/32', max_connections: '42' },
    });
    deployedData = join(root, cluster.dataDir);
    expect(r.log.join('\n')).not.toContain(NEW_PASSWORD);
    const rendered = await readFile(join(deployedData, 'postgresql.conf'), 'utf8');
    expect(rendered).toMatch(new RegExp(`^port = ${port}$`, 'm'));
    expect(rendered).toMatch(/^max_connections = 42$/m);
    expect(await readFile(join(deployedData, 'pg_hba.conf'), 'utf8')).toMatch(/^host\s+all\s+all\s+127\.0\.0\.1\/32\s+scram-sha-256$/m);

    await lifecycle(r.bundleDir, 'start');
    expect(await tcpQuery({ port, password: NEW_PASSWORD, sql: 'SELECT text FROM greeting WHERE id = 1' })).toBe('hello from the reference');
    expect(await tcpQuery({ port, password: NEW_PASSWORD, sql: 'SHOW max_connections' })).toBe('42');
    await expect(tcpQuery({ port, password: 'reference-secret', sql: 'SELECT 1' })).rejects.toThrow(/password authentication failed/);
    // The server ran the captured programs (under the root), not this machine's.
    const exe = await asPostgres(['sh', '-c', `readlink /proc/$(head -1 ${deployedData}/postmaster.pid)/exe`]);
    expect(exe.trim()).toBe(join(root, '/usr/lib/postgresql/15/bin/postgres'));

    const ping = await lifecycle(r.bundleDir, 'ping');
    expect(ping.health).toMatchObject({ healthy: true });
    expect(ping.health?.message).toContain(`127.0.0.1:${port} answered as postgres: PostgreSQL 15`);

    await lifecycle(r.bundleDir, 'stop');
    expect((await lifecycle(r.bundleDir, 'ping')).health).toMatchObject({ healthy: false });
    await lifecycle(r.bundleDir, 'start');
    expect((await lifecycle(r.bundleDir, 'ping')).health).toMatchObject({ healthy: true });
    await lifecycle(r.bundleDir, 'stop');

    expect(await checksumListing(cluster.dataDir)).toEqual(before);
  }, 120_000);
});
