/**
 * A private Tomcat 10 instance for tests and the three-tier walk-through: a CATALINA_BASE in a
 * directory of the caller's, running from Debian's CATALINA_HOME (/usr/share/tomcat10), with the
 * sample web application (examples/stack/webapp, compiled with javac here) and a JDBC resource
 * jdbc/appdb pointing at a PostgreSQL the caller names. Tomcat runs as the user tomcat (the
 * tomcat10 package creates it), started with catalina.sh run. Plain JavaScript (types in
 * tomcat.d.mts) so that scripts can use it as well as tests.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { appendFile, chmod, copyFile, lstat, mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const TOMCAT_HOME = '/usr/share/tomcat10';
export const JDBC_DRIVER = '/usr/share/java/postgresql.jar';
export const SAMPLE_WEBAPP = resolve(dirname(fileURLToPath(import.meta.url)), '../../examples/stack/webapp');
/** What the sample application reads: create it in the database the resource points at. */
export const SAMPLE_TABLE_SQL = 'CREATE TABLE greeting (id int PRIMARY KEY, message text)';

const xml = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

async function account(name) {
  try {
    const uid = Number((await run('id', ['-u', name])).stdout.trim());
    const gid = Number((await run('id', ['-g', name])).stdout.trim());
    return { uid, gid };
  } catch {
    throw new Error(`user ${name} does not exist: install Tomcat first (apt-get install -y --no-install-recommends tomcat10)`);
  }
}

/** Compiles the sample application into `dest` (a webapps/<context> directory). */
export async function buildSampleWebapp(dest) {
  if (!existsSync('/usr/bin/javac')) throw new Error('javac not found: apt-get install -y --no-install-recommends openjdk-17-jdk-headless');
  await mkdir(join(dest, 'WEB-INF', 'classes'), { recursive: true });
  await run('javac', ['--release', '17', '-nowarn', '-cp', `${TOMCAT_HOME}/lib/servlet-api.jar`, '-d', join(dest, 'WEB-INF', 'classes'), join(SAMPLE_WEBAPP, 'src', 'abctl', 'sample', 'RowServlet.java')], { timeout: 120_000 });
  await copyFile(join(SAMPLE_WEBAPP, 'WEB-INF', 'web.xml'), join(dest, 'WEB-INF', 'web.xml'));
}

function serverXml({ httpPort, address, shutdownPort, extraHttpPort, portProperty }) {
  const at = address ? ` address="${xml(address)}"` : '';
  const port = portProperty ? `\${${portProperty}}` : httpPort;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- A private instance written by test/support/tomcat.mjs (shaped like Debian's server.xml). -->
<Server port="${shutdownPort}" shutdown="SHUTDOWN">
  <Listener className="org.apache.catalina.startup.VersionLoggerListener" />
  <Listener className="org.apache.catalina.core.JreMemoryLeakPreventionListener" />
  <Listener className="org.apache.catalina.mbeans.GlobalResourcesLifecycleListener" />
  <Listener className="org.apache.catalina.core.ThreadLocalLeakPreventionListener" />
  <GlobalNamingResources>
    <Resource name="UserDatabase" auth="Container" type="org.apache.catalina.UserDatabase"
              factory="org.apache.catalina.users.MemoryUserDatabaseFactory" pathname="conf/tomcat-users.xml" />
  </GlobalNamingResources>
  <Service name="Catalina">
    <!-- Not a connector: comments are not configuration.
    <Connector port="8443" protocol="org.apache.coyote.http11.Http11NioProtocol" SSLEnabled="true" />
    -->
    <Connector port="${port}"${at} protocol="HTTP/1.1" connectionTimeout="20000" />
${extraHttpPort ? `    <Connector port="${extraHttpPort}"${at} protocol="org.apache.coyote.http11.Http11NioProtocol" connectionTimeout="20000" />\n` : ''}    <Engine name="Catalina" defaultHost="localhost">
      <Realm className="org.apache.catalina.realm.LockOutRealm">
        <Realm className="org.apache.catalina.realm.UserDatabaseRealm" resourceName="UserDatabase"/>
      </Realm>
      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false" />
    </Engine>
  </Service>
</Server>
`;
}

function contextXml(jdbc) {
  const resource = jdbc
    ? `  <Resource name="jdbc/appdb" auth="Container" type="javax.sql.DataSource" driverClassName="org.postgresql.Driver"
            url="jdbc:postgresql://${xml(jdbc.host)}:${jdbc.port}/${xml(jdbc.database)}" username="${xml(jdbc.user)}" password="${xml(jdbc.password)}"
            maxTotal="4" maxIdle="2" maxWaitMillis="10000" />\n`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Loaded for every web application of this instance. -->
<Context>
  <WatchedResource>WEB-INF/web.xml</WatchedResource>
${resource}</Context>
`;
}

function usersXml(managerPassword) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<tomcat-users xmlns="http://tomcat.apache.org/xml" version="1.0">
  <!-- <user username="admin" password="not-this-one" roles="manager-gui"/> -->
${managerPassword ? `  <role rolename="manager-script"/>\n  <user username="deployer" password="${xml(managerPassword)}" roles="manager-script"/>\n` : ''}</tomcat-users>
`;
}

/**
 * Writes a CATALINA_BASE in `dir`/base: conf (server.xml with the given ports, the first as
 * `${portProperty}` set in catalina.properties when that option is given, context.xml with
 * jdbc/appdb when `jdbc` is given, tomcat-users.xml with a manager user when `managerPassword`
 * is), lib/postgresql.jar (a real copy of Debian's driver), webapps/<webapp> with the sample
 * application, empty logs, temp and work; everything owned by tomcat.
 * @param {import('./tomcat.d.mts').TomcatBaseOptions} o
 */
export async function prepareTomcatBase(o) {
  const { dir, httpPort, address = '127.0.0.1', shutdownPort = -1, extraHttpPort, portProperty, jdbc, managerPassword, webapp = 'app' } = o;
  const base = join(dir, 'base');
  const { uid, gid } = await account('tomcat');
  for (const sub of ['conf', 'lib', 'logs', 'temp', 'work', 'webapps']) await mkdir(join(base, sub), { recursive: true });
  const etc = existsSync('/etc/tomcat10/web.xml') ? '/etc/tomcat10' : `${TOMCAT_HOME}/etc`;
  for (const f of ['web.xml', 'catalina.properties', 'logging.properties', 'jaspic-providers.xml']) await copyFile(join(etc, f), join(base, 'conf', f));
  await writeFile(join(base, 'conf', 'server.xml'), serverXml({ httpPort, address, shutdownPort, extraHttpPort, portProperty }));
  if (portProperty) await appendFile(join(base, 'conf', 'catalina.properties'), `\n# The HTTP connector's port (server.xml says \${${portProperty}}).\n${portProperty} = ${httpPort}\n`);
  await writeFile(join(base, 'conf', 'context.xml'), contextXml(jdbc));
  await writeFile(join(base, 'conf', 'tomcat-users.xml'), usersXml(managerPassword));
  if (jdbc) await copyFile(JDBC_DRIVER, join(base, 'lib', 'postgresql.jar'));
  if (webapp) await buildSampleWebapp(join(base, 'webapps', webapp));
  await run('chown', ['-R', `${uid}:${gid}`, base]);
  await run('chmod', ['-R', 'go-w', base]);
  // tomcat must reach the base through the caller's (often 0700) temp directory.
  await chmod(dir, 0o755);
  return { base, home: TOMCAT_HOME, url: (path = '/') => `http://${address === '0.0.0.0' ? '127.0.0.1' : address}:${httpPort}${path}` };
}

/** Whether `url` answers HTTP at all (any status) within 2 s. */
export async function answers(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `catalina.sh run` for `base` as tomcat and waits (at most `timeoutMs`) until `url`
 * answers. Output goes to base/logs/catalina.out. `stop()` sends SIGTERM and waits, then SIGKILL.
 * @param {import('./tomcat.d.mts').StartTomcatOptions} o
 */
export async function startTomcat({ base, home = TOMCAT_HOME, url, timeoutMs = 90_000 }) {
  const { uid, gid } = await account('tomcat');
  const logFile = join(base, 'logs', 'catalina.out');
  const fd = openSync(logFile, 'a');
  const child = spawn(`${home}/bin/catalina.sh`, ['run'], {
    cwd: base,
    uid,
    gid,
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: base, LANG: 'C.UTF-8', CATALINA_HOME: home, CATALINA_BASE: base, CATALINA_TMPDIR: join(base, 'temp') },
  });
  closeSync(fd);
  let exited = false;
  child.once('exit', () => (exited = true));
  const log = () => readFile(logFile, 'utf8').catch(() => '');
  const stop = async () => {
    if (exited) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await gone;
    clearTimeout(t);
  };
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(url))) {
    if (exited) throw new Error(`Tomcat for ${base} exited while starting:\n${(await log()).slice(-3000)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Tomcat for ${base} did not answer ${url} within ${timeoutMs} ms:\n${(await log()).slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { pid: child.pid, stop, log };
}

/**
 * What "the reference did not change" compares: path, mode, owner, and the content hash (or link
 * target) of everything under `roots`, leaving out the paths under `skip` (what a running Tomcat
 * writes: logs, work, temp).
 */
export async function referenceListing(roots, skip = []) {
  const out = [];
  const walk = async (p) => {
    if (skip.some((s) => p === s || p.startsWith(`${s}/`))) return;
    const st = await lstat(p);
    const head = `${p} ${st.mode.toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) out.push(`${head} -> ${await readlink(p)}`);
    else if (st.isFile()) out.push(`${head} ${createHash('sha256').update(await readFile(p)).digest('hex')}`);
    else if (st.isDirectory()) {
      out.push(`${head} dir`);
      for (const e of (await readdir(p)).sort()) await walk(join(p, e));
    }
  };
  for (const r of roots) await walk(r);
  return out;
}
