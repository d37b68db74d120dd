/**
 * The tomcat plugin and its tomcatwebapps extension on real parts: Debian's tomcat10 (CATALINA_HOME
 * /usr/share/tomcat10), a private CATALINA_BASE with the sample application (test/support/tomcat.mjs)
 * running as tomcat, and a private PostgreSQL 15 cluster the JDBC resource reaches. Discovery,
 * introspection (inputs, outputs, properties, templates, file sets), the capture check, the alias
 * command, then a rehydrate with the test kit into a temporary root, a real start on new ports
 * against PostgreSQL with the plan's password, an HTTP request that returns the row, ping and stop.
 * The reference files are compared (a checksum listing) before and after.
 */
import { execFile } from 'node:child_process';
import { chmod, lstat, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dehydrate, lifecycle, rehydrate, type Dehydrated } from '../../services/authoring/testkit.js';
import { asPostgres, startCluster, type TestCluster } from '../support/postgresql.mjs';
import { freePort, startSshd } from '../support/sshd.mjs';
import { answers, prepareTomcatBase, SAMPLE_TABLE_SQL, startTomcat, TOMCAT_HOME, type RunningTomcat, type TomcatBase, referenceListing } from '../support/tomcat.mjs';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
const TOMCAT = join(REPO, 'plugins/tomcat');
const WEBAPPS = join(REPO, 'plugins/tomcatwebapps');
const ROW = 'hello from postgresql';
const DB_PASSWORD = 'n3w secret & <pw>';

/** The cluster the rehydrated Tomcat reaches: a role and database of its own holding the row. */
async function startPostgres(): Promise<TestCluster> {
  const cluster = await startCluster();
  await cluster.sql(`CREATE USER app PASSWORD '${DB_PASSWORD.replaceAll("'", "''")}'`);
  await cluster.sql('CREATE DATABASE appdb OWNER app');
  await asPostgres([`${cluster.bin}/psql`, '-h', cluster.dir, '-p', String(cluster.port), '-U', 'postgres', '-d', 'appdb', '-v', 'ON_ERROR_STOP=1', '-c', `${SAMPLE_TABLE_SQL}; INSERT INTO greeting VALUES (1, '${ROW}'); ALTER TABLE greeting OWNER TO app`]);
  return cluster;
}

// ---------------------------------------------------------------- fixtures shared by every test

let tmp: string;
let pg: TestCluster;
let ref: TomcatBase;
let refTomcat: RunningTomcat | undefined;
let deadPort: number;
let before: string[];
const referenceRoots = (): string[] => [ref.base, TOMCAT_HOME, '/usr/share/java'];
const referenceSkip = (): string[] => ['logs', 'work', 'temp'].map((d) => join(ref.base, d));

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'abctl-tomcat-'));
  await chmod(tmp, 0o755);
  deadPort = await freePort();
  // The reference points at a database that is not there (and an old password): only a rehydrate
  // that re-points the resource at the connected peer, with the plan's password, returns the row.
  [pg, ref] = await Promise.all([
    startPostgres(),
    (async () => {
      const dir = join(tmp, 'ref');
      await run('mkdir', [dir]);
      return prepareTomcatBase({
        dir,
        httpPort: await freePort(),
        extraHttpPort: await freePort(),
        jdbc: { host: '127.0.0.1', port: deadPort, database: 'appdb', user: 'app', password: 'reference-password' },
        managerPassword: 'm4nager',
      });
    })(),
  ]);
  refTomcat = await startTomcat({ base: ref.base, url: ref.url('/') });
  before = await referenceListing(referenceRoots(), referenceSkip());
}, 180_000);

afterAll(async () => {
  await refTomcat?.stop();
  await pg?.remove().catch(() => undefined);
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

/** The real CLI, on an instance directory of this file's own. */
const cli = (args: string[]) => run(process.execPath, [join(REPO, 'bin/abctl'), ...args, '--instance', join(tmp, 'instance')], { timeout: 120_000 });

const dehydrateRef = (extra: { webapps?: string } = {}, withExtension = false): Promise<Dehydrated> =>
  dehydrate({
    plugin: withExtension ? WEBAPPS : TOMCAT,
    with: withExtension ? [TOMCAT] : [],
    parameters: { 'catalina-base': ref.base, 'catalina-home': TOMCAT_HOME, ...extra },
  });

describe('tomcat plugin', () => {
  it('discovers the Debian instance and the running private base with its pid and home', async () => {
    const { stdout } = await cli(['discover', '--json']);
    const tomcat = JSON.parse(stdout).plugins.find((p: { plugin: string }) => p.plugin === 'tomcat');
    const mine = tomcat.installations.find((i: { parameters: Record<string, string> }) => i.parameters['catalina-base'] === ref.base);
    expect(mine.parameters).toEqual({ 'catalina-base': ref.base, 'catalina-home': TOMCAT_HOME });
    expect(mine.description).toMatch(new RegExp(`^Tomcat 10\\.1\\.\\d+ instance ${ref.base} \\(home ${TOMCAT_HOME}\\), running as pid ${refTomcat!.pid}$`));
    expect(tomcat.installations.map((i: { parameters: Record<string, string> }) => i.parameters['catalina-base'])).toContain('/var/lib/tomcat10');
    // With several instances and no --catalina-base, the introspection says which there are.
    const several = await dehydrate({ plugin: TOMCAT, capture: false }).then((d) => d.dispose(), (e: unknown) => e);
    expect(several).toMatchObject({ code: 'TOMCAT_BASE_AMBIGUOUS' });
    expect(String((several as Error).message)).toContain(`--catalina-base ${ref.base}`);
    const wrong = await dehydrate({ plugin: TOMCAT, capture: false, parameters: { 'catalina-base': tmp } }).then((d) => d.dispose(), (e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'TOMCAT_BASE_INVALID' });
  }, 60_000);

  it('introspects connectors, JDBC resources, the manager user, templates and file sets of a running instance', async () => {
    const d = await dehydrateRef();
    try {
      const a = d.appliance;
      expect(a.inputs.map((i) => [i.name, i.protocols[0], i.portProperty])).toEqual([
        ['http', 'http', 'connector.http.port'],
        ['http-2', 'http', 'connector.http-2.port'],
      ]);
      expect(a.inputs[0]!.port).toBe(Number(new URL(ref.url()).port));
      const out = a.outputs.find((o) => o.name === 'jdbc-appdb')!;
      expect(out.protocol).toBe('postgresql');
      expect(Object.fromEntries(out.connectionProperties.list().map((p) => [p.name, p.value]))).toEqual({ host: '127.0.0.1', port: String(deadPort), database: 'appdb', user: 'app' });
      const value = (n: string) => a.properties.getValue(n);
      expect(value('connector.http.address')).toBe('127.0.0.1');
      expect(value('jdbc.jdbc-appdb.url')).toBe(`jdbc:postgresql://127.0.0.1:${deadPort}/appdb`);
      expect(a.properties.get('jdbc.jdbc-appdb.password')).toMatchObject({ type: 'password' });
      expect(value('jdbc.jdbc-appdb.password')).toBe('reference-password');
      expect(value('manager.user')).toBe('deployer');
      expect(value('manager.password')).toBe('m4nager');
      expect(value('catalina.base')).toBe(ref.base);
      expect(value('product.version')).toMatch(/^10\.1\./);
      // Templates: only the values a deployment changes are variables; the commented connector stays text.
      const text = (n: string) => Buffer.from(d.content.get(a.name)!.get(n)!).toString('utf8');
      expect(a.contentResources.map((r) => r.name).sort()).toEqual(['context.xml', 'server.xml', 'tomcat-users.xml']);
      expect(text('server.xml')).toContain('<Connector port="{{[connector.http.port]}}" address="{{xml [connector.http.address]}}" protocol="HTTP/1.1"');
      expect(text('server.xml')).toContain('<Connector port="8443" protocol="org.apache.coyote.http11.Http11NioProtocol" SSLEnabled="true" />');
      expect(text('context.xml')).toContain('url="{{xml [jdbc.jdbc-appdb.url]}}" username="app" password="{{xml [jdbc.jdbc-appdb.password]}}"');
      expect(text('tomcat-users.xml')).toContain('<user username="deployer" password="{{xml [manager.password]}}" roles="manager-script"/>');
      // File sets: the home, the base minus Tomcat's output, and the real jars behind Debian's links.
      const sets = Object.fromEntries(a.fileSets.map((f) => [f.name, f]));
      expect(sets.home).toMatchObject({ root: TOMCAT_HOME, owner: 'root' });
      expect(sets.base).toMatchObject({ root: ref.base, owner: 'tomcat', excludes: ['logs/*', 'work/*', 'temp/*'] });
      expect(sets['java-libs']!.root).toBe('/usr/share/java');
      expect(sets['java-libs']!.excludes).not.toContain('tomcat10-catalina.jar');
      expect(sets['java-libs']!.excludes).toContain('postgresql.jar'); // the base has its own copy
      const javaLibs = d.archives.find((x) => x.fileSet === 'java-libs')!;
      const names = (await run('tar', ['-tzf', javaLibs.file])).stdout;
      expect(names).toMatch(/tomcat10-catalina-10\.1\.\d+\.jar/);
      expect(names).not.toContain('guava');
      const base = (await run('tar', ['-tzf', d.archives.find((x) => x.fileSet === 'base')!.file])).stdout.split('\n');
      expect(base).toContain('./lib/postgresql.jar');
      expect(base).toContain('./logs/');
      expect(base.some((n) => n.startsWith('./logs/') && n !== './logs/')).toBe(false);
      // The config files whose templates name a password are not in the archive (rehydrate renders
      // them), and no byte of the archive holds the reference's passwords; server.xml names none, so it stays.
      expect(base).toContain('./conf/server.xml');
      expect(base).not.toContain('./conf/context.xml');
      expect(base).not.toContain('./conf/tomcat-users.xml');
      expect(d.archives.find((x) => x.fileSet === 'base')!.skipped).toEqual([
        { path: 'conf/context.xml', reason: 'template-with-password' },
        { path: 'conf/tomcat-users.xml', reason: 'template-with-password' },
      ]);
      for (const x of d.archives) {
        const bytes = (await run('sh', ['-c', 'gzip -dc "$1"', 'sh', x.file], { encoding: 'latin1', maxBuffer: 1 << 30 })).stdout;
        expect(bytes.includes('m4nager'), x.fileSet).toBe(false);
        expect(bytes.includes('reference-password'), x.fileSet).toBe(false);
      }
    } finally {
      await d.dispose();
    }
  });

  it('refuses to capture webapps while the running Tomcat has a WAR to expand, naming the stop command', async () => {
    const war = join(ref.base, 'webapps', 'late.war');
    await writeFile(war, 'not really a war');
    const future = new Date(Date.now() + 60_000);
    await utimes(war, future, future);
    try {
      const err = await dehydrateRef().then(
        (d) => d.dispose(),
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'CAPTURE_REFUSED' });
      expect(String((err as Error).message)).toContain(`is deploying ${ref.base}/webapps/late.war`);
      expect(String((err as Error).message)).toContain(`kill ${refTomcat!.pid}`);
    } finally {
      await rm(war);
    }
  });
});

describe('over SSH', () => {
  it('discovers and introspects the running instance on an SSH reference host, capturing every file set', async () => {
    const sshd = await startSshd();
    try {
      const ssh = ['--host', sshd.target, '--identity-file', sshd.identityFile, '--known-hosts', sshd.knownHostsFile];
      const found = JSON.parse((await cli(['discover', '--json', ...ssh])).stdout).plugins.find((p: { plugin: string }) => p.plugin === 'tomcat');
      const descriptions: string[] = found.installations.map((i: { description: string }) => i.description);
      expect(descriptions.find((d) => d.endsWith(` instance ${ref.base} (home ${TOMCAT_HOME}), running as pid ${refTomcat!.pid}`))).toMatch(/^Tomcat 10\.1\.\d+ /);
      const summary = JSON.parse((await cli(['introspecttomcatwebapps', '--catalina-base', ref.base, '--name', 'tomcat-ssh', '--json', ...ssh])).stdout);
      expect(summary.participants).toEqual(['tomcat', 'tomcatwebapps']);
      expect(summary.captured.map((c: { fileSet: string }) => c.fileSet).sort()).toEqual(['base', 'home', 'java-libs', 'webapps']);
      // Over SSH (tar on the host) the same files are left out, and said so.
      expect(summary.warnings).toEqual(['tomcat-ssh/base: skipped conf/context.xml (template-with-password)', 'tomcat-ssh/base: skipped conf/tomcat-users.xml (template-with-password)']);
      const [archive] = (await run('find', [join(tmp, 'instance'), '-path', '*tomcat-ssh*/filesets/base.*'])).stdout.split('\n');
      const listed = (await run('tar', ['-tzf', archive!])).stdout.split('\n');
      expect(listed).toContain('./conf/server.xml');
      expect(listed.filter((n) => /context\.xml|tomcat-users\.xml/.test(n))).toEqual([]);
      const text = JSON.stringify(JSON.parse((await cli(['describeAppliances', '--name', 'tomcat-ssh', '--json'])).stdout));
      expect(text).toContain(`"connector.http-2.port"`);
      expect(text).toContain(`jdbc:postgresql://127.0.0.1:${deadPort}/appdb`);
    } finally {
      await sshd.stop();
    }
  }, 120_000);
});

describe('tomcatwebapps extension', () => {
  it('adds a property per application and moves webapps/ into its own file set', async () => {
    const d = await dehydrateRef({ webapps: 'app' }, true);
    try {
      expect(d.chain).toEqual(['tomcat', 'tomcatwebapps']);
      const a = d.appliance;
      expect(a.properties.getValue('webapp.app.path')).toBe('/app');
      expect(a.getFileSet('webapps')).toMatchObject({ root: join(ref.base, 'webapps'), owner: 'tomcat', excludes: [] });
      expect(a.getFileSet('base')!.excludes).toContain('webapps');
      const files = (await run('tar', ['-tzf', d.archives.find((x) => x.fileSet === 'webapps')!.file])).stdout;
      expect(files).toContain('./app/WEB-INF/classes/abctl/sample/RowServlet.class');
    } finally {
      await d.dispose();
    }
  });

  it('does nothing when the instance has no web application, and rejects an unknown one', async () => {
    const dir = join(tmp, 'bare');
    await run('mkdir', [dir]);
    const bare = await prepareTomcatBase({ dir, httpPort: await freePort(), webapp: false });
    const d = await dehydrate({ plugin: WEBAPPS, with: [TOMCAT], capture: false, parameters: { 'catalina-base': bare.base, 'catalina-home': TOMCAT_HOME } });
    try {
      expect(d.appliance.getFileSet('webapps')).toBeUndefined();
      expect(d.appliance.getFileSet('base')!.excludes).not.toContain('webapps');
      expect(d.appliance.properties.list().some((p) => p.name.startsWith('webapp.'))).toBe(false);
      expect(d.appliance.outputs).toEqual([]);
    } finally {
      await d.dispose();
    }
    await expect(dehydrateRef({ webapps: 'nope' }, true)).rejects.toMatchObject({ code: 'TOMCAT_WEBAPP_UNKNOWN' });
  });

  it('has its own introspect command (alias) that runs the tomcat plugin with it', async () => {
    expect((await cli(['introspecttomcatwebapps', '--help'])).stdout).toContain('--webapps');
    await cli(['introspecttomcatwebapps', '--catalina-base', ref.base, '--catalina-home', TOMCAT_HOME, '--defer-capture']);
    const described = JSON.parse((await cli(['describeAppliances', '--name', 'tomcat', '--json'])).stdout);
    const text = JSON.stringify(described);
    expect(text).toContain('webapp.app.path');
    expect(text).toContain('jdbc-appdb');
  }, 120_000);
});

describe('rehydrate and run', () => {
  it('re-creates the instance on new ports, pointed at the connected PostgreSQL with the plan\'s password, and serves the row', async () => {
    const d = await dehydrateRef({}, true);
    const root = join(tmp, 'root');
    await run('mkdir', ['-m', '0755', root]);
    const [port, port2] = [await freePort(), await freePort()];
    let bundleDir: string | undefined;
    try {
      const done = await rehydrate(d, {
        root,
        properties: { 'connector.http.port': String(port), 'connector.http-2.port': String(port2), 'jdbc.jdbc-appdb.password': DB_PASSWORD, 'manager.password': 'other' },
        bindings: { outputs: { 'jdbc-appdb': [{ appliance: 'db', input: 'postgresql', external: false, hostNames: ['db-1'], addresses: ['127.0.0.1'], port: pg.port, properties: {} }] } },
      });
      bundleDir = done.bundleDir;
      const conf = join(root, ref.base, 'conf');
      const context = await readFile(join(conf, 'context.xml'), 'utf8');
      expect(context).toContain(`url="jdbc:postgresql://127.0.0.1:${pg.port}/appdb"`);
      expect(context).toContain('password="n3w secret &amp; &lt;pw&gt;"');
      expect((await lstat(join(conf, 'context.xml'))).mode & 0o777).toBe(0o600);
      expect(await readFile(join(conf, 'server.xml'), 'utf8')).toContain(`<Connector port="${port}" address="127.0.0.1"`);
      expect(await readFile(join(conf, 'tomcat-users.xml'), 'utf8')).toContain('password="other"');
      // Not in the archive, so written whole by rehydrate: owner and mode are the plugin's.
      const tomcatUid = Number((await run('id', ['-u', 'tomcat'])).stdout.trim());
      for (const f of ['context.xml', 'tomcat-users.xml']) {
        const st = await lstat(join(conf, f));
        expect([st.uid, st.mode & 0o777], f).toEqual([tomcatUid, 0o600]);
      }

      await lifecycle(bundleDir, 'start');
      const res = await fetch(`http://127.0.0.1:${port}/app/row`);
      expect(await res.text()).toBe(`${ROW}\n`);
      expect(await answers(`http://127.0.0.1:${port2}/`)).toBe(true);
      expect((await lifecycle(bundleDir, 'ping')).health).toMatchObject({ healthy: true });
      await lifecycle(bundleDir, 'stop');
      expect((await lifecycle(bundleDir, 'ping')).health).toMatchObject({ healthy: false });
    } finally {
      if (bundleDir) await lifecycle(bundleDir, 'stop').catch(() => undefined);
      await d.dispose();
    }
    // Nothing of the reference changed through all of the above.
    expect(await referenceListing(referenceRoots(), referenceSkip())).toEqual(before);
  }, 180_000);
});
