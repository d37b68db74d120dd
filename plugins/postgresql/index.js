// The PostgreSQL plugin: introspects a cluster (Debian's layout, or an initdb data directory that
// holds its own configuration) and re-creates it on an instance with its port, listen addresses,
// connection limit, client ranges and superuser password changed. See docs/products/postgresql.md.

/** @typedef {import('../../core/plugin-contract.js').ServiceContext} ServiceContext */
/** @typedef {import('../../core/plugin-contract.js').DehydrateContext} DehydrateContext */
/** @typedef {import('../../core/lifecycle-contract.js').LifecycleContext} LifecycleContext */

import { chown, mkdir, mkdtemp, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { clusterSummary, findClusters, pgError, readConfText, resolveCluster, runningPid as runningPidOn, searchRootsFromEnv } from './clusters.js';
import { expandHba, hbaTemplate, managedHostLines, MANAGED, parseConf, passwordMethod, postgresqlConfTemplate } from './conf.js';
import { scramVerifier } from './scram.js';

const NAME = 'postgresql';

/** Debian's self-signed pair (package ssl-cert): host identity, made anew on each instance. */
const SNAKEOIL = { cert: '/etc/ssl/certs/ssl-cert-snakeoil.pem', key: '/etc/ssl/private/ssl-cert-snakeoil.key' };

// ---------------------------------------------------------------- dehydration

/** The directory holding bin/ (Debian: /usr/lib/postgresql/15) and the share directory, if apart. */
async function installation(host, cluster) {
  const binDir = cluster.binDir;
  if (!binDir || !(await host.exists(`${binDir}/postgres`))) {
    throw pgError(
      'POSTGRESQL_BINARIES_NOT_FOUND',
      `cannot tell where the PostgreSQL ${cluster.version ?? ''} programs of ${cluster.dataDir} are (looked for /usr/lib/postgresql/${cluster.version ?? '<version>'}/bin/postgres)`,
      'install the matching server package (apt-get install postgresql-15), or start the cluster once so that its running postmaster shows where its binaries are',
    );
  }
  const home = dirname(binDir);
  // pg_config knows the compiled-in (and relocatable) share directory; it only prints.
  const pgConfig = await host.run([`${binDir}/pg_config`, '--sharedir'], { timeoutMs: 10_000 }).catch(() => undefined);
  let share = pgConfig?.exitCode === 0 ? pgConfig.stdout.trim() : undefined;
  if (!share || !(await host.exists(`${share}/postgres.bki`))) {
    share = [`/usr/share/postgresql/${cluster.version}`, `${home}/share`].find(Boolean);
    if (!(await host.exists(`${share}/postgres.bki`))) share = undefined;
  }
  const versionRun = await host.run([`${binDir}/postgres`, '--version'], { timeoutMs: 10_000 }).catch(() => undefined);
  const fullVersion = /(\d+(\.\d+)*)/.exec(versionRun?.stdout ?? '')?.[1] ?? cluster.version ?? 'unknown';
  return { binDir, home, share: share && !share.startsWith(`${home}/`) ? share : undefined, fullVersion };
}

/** The name of the data directory's owner on the reference host (it runs the server). */
async function ownerName(host, path) {
  const st = await host.stat(path);
  const passwd = await host.readText('/etc/passwd').catch(() => '');
  const line = passwd.split('\n').find((l) => l.split(':')[2] === String(st?.uid));
  const group = (await host.readText('/etc/group').catch(() => '')).split('\n').find((l) => l.split(':')[2] === String(st?.gid));
  return { owner: line?.split(':')[0] ?? 'postgres', group: group?.split(':')[0] ?? 'postgres' };
}

/** Tablespace directories outside the data directory, from the links in pg_tblspc. */
async function tablespaceDirs(host, dataDir) {
  const dir = `${dataDir}/pg_tblspc`;
  if (!(await host.exists(dir))) return [];
  const out = [];
  for (const e of await host.readdir(dir)) {
    if (e.type !== 'symlink') continue;
    const target = (await host.lstat(`${dir}/${e.name}`))?.linkTarget;
    if (target?.startsWith('/') && !target.startsWith(`${dataDir}/`)) out.push({ oid: e.name, root: target });
  }
  return out;
}

/** The log directory inside the data directory, relative to it (log_directory, default `log`). */
function logExcludes(conf, dataDir) {
  const dir = conf.get('log_directory') ?? 'log';
  const rel = dir.startsWith(`${dataDir}/`) ? dir.slice(dataDir.length + 1) : dir.startsWith('/') ? undefined : dir;
  return rel ? [`${rel}/*`] : [];
}

// ---------------------------------------------------------------- the introspector service

const plugin = {
  name: NAME,
  allowExtensionsToCreateAppliances: false,

  jobParameters() {
    return [
      {
        name: 'cluster',
        type: 'string',
        description: 'the cluster: its data directory, its configuration directory, or a Debian name such as 15/main (may be left out when the host has one cluster)',
        required: false,
      },
    ];
  },

  /** @param {DehydrateContext} ctx */
  async dehydrate(ctx) {
    ctx.progress(5, 'finding the cluster');
    const cluster = await resolveCluster(ctx.host, ctx.parameters.cluster, searchRootsFromEnv());
    const { dataDir, configDir } = cluster;
    const confFile = `${configDir}/postgresql.conf`;
    // The same text finding the cluster read (once per job).
    const confText = await readConfText(ctx.host, confFile);
    const conf = parseConf(confText);
    const auto = parseConf((await ctx.host.readTextIfExists(`${dataDir}/postgresql.auto.conf`)) ?? '');
    for (const name of MANAGED) {
      if (auto.has(name)) ctx.log.warn(`${dataDir}/postgresql.auto.conf sets ${name} (ALTER SYSTEM); rehydration removes it there so that the plan's value holds`);
    }
    const hbaFile = conf.get('hba_file') ?? `${configDir}/pg_hba.conf`;
    const identFile = conf.get('ident_file') ?? `${configDir}/pg_ident.conf`;
    for (const [what, file] of [
      ['hba_file', hbaFile],
      ['ident_file', identFile],
    ]) {
      if (!file.startsWith(`${configDir}/`) && !file.startsWith(`${dataDir}/`)) {
        throw pgError('POSTGRESQL_LAYOUT', `${confFile}: ${what} ${file} lies outside the configuration and data directories, so no file set carries it`, `move it into ${configDir} (and point ${what} there), then introspect again`);
      }
    }
    const hbaText = await ctx.host.readText(hbaFile);

    ctx.progress(20, 'reading the installation');
    const inst = await installation(ctx.host, cluster);
    const { owner, group } = await ownerName(ctx.host, dataDir);
    const port = Number(auto.get('port') ?? conf.get('port') ?? 5432);
    const hba = managedHostLines(hbaText);
    const sslOn = ['on', 'true', 'yes', '1'].includes((auto.get('ssl') ?? conf.get('ssl') ?? 'off').toLowerCase());
    const configApart = configDir !== dataDir;
    const tablespaces = await tablespaceDirs(ctx.host, dataDir);

    ctx.progress(40, 'describing the appliance');
    const label = cluster.name ?? dataDir;
    const appliance = ctx.createAppliance({
      name: `postgresql-${cluster.name ? cluster.name.replace('/', '-') : cluster.version ?? 'cluster'}`,
      description: `PostgreSQL ${inst.fullVersion} cluster ${label}`,
      resources: { memoryMiB: 512, cpus: 1 },
      properties: [
        { name: 'port', type: 'int', category: 'user', required: true, value: String(port), description: 'TCP port the server listens on' },
        { name: 'listen_addresses', type: 'string', category: 'user', required: true, value: auto.get('listen_addresses') ?? conf.get('listen_addresses') ?? 'localhost', description: "addresses to listen on ('*' for all, '' for unix sockets only)" },
        { name: 'max_connections', type: 'int', category: 'user', required: true, value: auto.get('max_connections') ?? conf.get('max_connections') ?? '100', description: 'most concurrent connections' },
        { name: 'superuser.password', type: 'password', category: 'user', required: true, description: 'password rehydration gives the superuser (the plan sets it; the reference password is never read)' },
        { name: 'superuser.name', type: 'string', category: 'user', required: true, value: owner, description: 'the superuser role (by default the name of the account owning the data directory, as initdb names it)' },
        { name: 'hba.clients', type: 'string', category: 'user', required: true, value: (hba.addresses.length ? hba.addresses : ['127.0.0.1/32', '::1/128']).join(','), description: 'comma-separated address ranges (CIDR) that may connect to any database as any user with a password: the host lines of pg_hba.conf' },
        { name: 'hba.method', type: 'string', category: 'user', required: true, value: passwordMethod(hba.method), description: 'authentication method of those lines (scram-sha-256, md5 or password)' },
        { name: 'ssl', type: 'boolean', category: 'user', required: true, value: String(sslOn), description: "serve TLS; with Debian's snakeoil certificate a new one is made on each instance" },
        { name: 'product.version', type: 'string', category: 'system', value: inst.fullVersion, description: 'PostgreSQL version' },
        { name: 'cluster.name', type: 'string', category: 'system', value: cluster.name ?? '', description: 'Debian cluster name (version/name), empty for an initdb cluster' },
        { name: 'data.directory', type: 'string', category: 'system', value: dataDir, description: 'data directory (the same path on every instance)' },
        { name: 'config.directory', type: 'string', category: 'system', value: configDir, description: 'directory holding postgresql.conf (the data directory for an initdb cluster)' },
        { name: 'binaries.directory', type: 'string', category: 'system', value: inst.binDir, description: 'directory of postgres, pg_ctl and psql' },
      ],
      inputs: [
        {
          name: 'postgresql',
          port,
          portProperty: 'port',
          protocols: ['postgresql'],
          description: 'SQL clients (libpq, JDBC)',
          // What a client's output asks of a database (Tomcat's JDBC resources): a connection to them is compatible.
          properties: [
            { name: 'host', type: 'string', category: 'system', value: '', description: 'filled in per instance by the late bindings (the instance address)' },
            { name: 'port', type: 'int', category: 'system', value: String(port), description: 'the port (follows the appliance property port when deployed)' },
            { name: 'database', type: 'string', category: 'system', value: 'postgres', description: 'a database every cluster has; clients keep the one they name' },
            { name: 'user', type: 'string', category: 'system', value: owner, description: 'the superuser role' },
          ],
        },
      ],
      fileSets: [
        { name: 'binaries', root: inst.home, category: 'system', owner: 'root', group: 'root' },
        ...(inst.share ? [{ name: 'share', root: inst.share, category: 'system', owner: 'root', group: 'root' }] : []),
        {
          name: 'data',
          root: dataDir,
          // Runtime files of the reference's postmaster and its logs; WAL stays (the cluster needs it).
          excludes: ['postmaster.pid', 'postmaster.opts', '.s.PGSQL.*', 'pg_stat_tmp/*', ...logExcludes(conf, dataDir)],
          owner,
          group,
          stateful: true,
        },
        ...(configApart ? [{ name: 'config', root: configDir, owner, group }] : []),
        // Tablespaces outside the data directory: pg_tblspc/<oid> links to them, which the data file set keeps.
        ...tablespaces.map((t) => ({ name: `tablespace-${t.oid}`, root: t.root, owner, group, stateful: true })),
      ],
    });

    ctx.progress(70, 'saving postgresql.conf and pg_hba.conf as templates');
    ctx.addContentResource(appliance, {
      name: 'postgresql.conf',
      content: postgresqlConfTemplate(confText, { dataDir, configDir, ssl: true }),
      template: true,
      description: `${confFile}; listen_addresses, port, max_connections and ssl come from properties`,
    });
    ctx.addContentResource(appliance, {
      name: 'pg_hba.conf',
      content: hbaTemplate(hbaText),
      template: true,
      description: `${hbaFile}; its host lines for all databases and users come from hba.clients`,
    });
    if (sslOn) {
      const cert = conf.get('ssl_cert_file') ?? 'server.crt';
      if (cert !== SNAKEOIL.cert) ctx.log.warn(`ssl is on with ${cert}: its private key is not captured (secrets stay off images); the instances need it in place, or the plan sets ssl to false`);
    }
    ctx.progress(100, 'done');
  },

  /** Debian clusters, running postmasters, and data directories under AB_POSTGRESQL_SEARCH. */
  async discover(ctx) {
    return (await findClusters(ctx.host, searchRootsFromEnv())).map((c) => ({
      description: clusterSummary(c),
      parameters: { cluster: c.name ?? c.dataDir },
    }));
  },

  /**
   * Writes postgresql.conf and pg_hba.conf from the templates, makes what the server needs on this
   * machine (socket and pid directories, a snakeoil certificate), fixes owners and modes, and sets
   * the superuser password through a private server that listens on a unix socket only.
   * @param {LifecycleContext} ctx
   */
  async rehydrate(ctx) {
    const p = paths(ctx);
    const wasRunning = (await localPid(p.dataDir)) !== undefined;
    if (wasRunning) {
      ctx.log.info('the server runs: stopping it to reconfigure, it is started again afterwards');
      await pgCtl(ctx, p, ['stop', '-m', 'fast']);
    }
    const variables = { 'data.directory': p.dataDir, 'config.directory': p.configDir };
    const own = { owner: p.owner, group: p.group };
    await ctx.renderContentResource('postgresql.conf', `${p.configDir}/postgresql.conf`, { variables, ...own, mode: 0o644 });
    const hbaFile = await setting(ctx, p, 'hba_file');
    await ctx.renderContentResource('pg_hba.conf', hbaFile, { variables, ...own, mode: 0o640 });
    await replaceFile(hbaFile, expandHba(await readFile(hbaFile, 'utf8'), isIP));
    await dropAutoSettings(ctx, p);
    await pointTablespaces(ctx, p);

    // Directories Debian's packaging makes at boot (tmpfiles) that an image or a fresh host lacks.
    const dirs = (await setting(ctx, p, 'unix_socket_directories')).split(',').map((d) => d.trim()).filter((d) => d.startsWith('/'));
    const pidFile = await setting(ctx, p, 'external_pid_file');
    if (pidFile.startsWith('/')) dirs.push(dirname(pidFile));
    for (const dir of new Set(dirs)) {
      if (!(await exists(dir))) {
        await mkdir(dir, { recursive: true });
        await ctx.setOwnership(dir, { ...own, mode: 0o2775 });
      } else if ((await ctx.run({ argv: ['test', '-w', dir, '-a', '-x', dir], user: p.owner })).exitCode !== 0) {
        // An image's copy of a directory made by extraction (a parent of a file set) is root's.
        await ctx.setOwnership(dir, own);
        ctx.log.info(`gave ${dir} to ${p.owner}: the server writes its socket or pid file there`);
      }
    }
    if (p.configDir !== p.dataDir) await ctx.setOwnership(p.configDir, { ...own, mode: 0o755 });
    // The server refuses a data directory others can read.
    await ctx.setOwnership(p.dataDir, { ...own, mode: 0o700 });
    if (ctx.appliance.property('ssl') === 'true') await ensureCertificate(ctx, p);

    await setSuperuserPassword(ctx, p);
    ctx.log.info(`configured: port ${ctx.appliance.property('port')}, listen_addresses '${ctx.appliance.property('listen_addresses')}', clients ${ctx.appliance.property('hba.clients')}`);
    if (wasRunning) await plugin.start(ctx);
  },

  /** pg_ctl start -w, bounded; already running is fine. @param {LifecycleContext} ctx */
  async start(ctx) {
    const p = paths(ctx);
    const pid = await localPid(p.dataDir);
    if (pid !== undefined) {
      ctx.log.info(`already running (pid ${pid})`);
      return;
    }
    const log = await serverLog(ctx, p);
    await pgCtl(ctx, p, ['start', '-l', log]);
    ctx.log.info(`started (pid ${await localPid(p.dataDir)}); server log ${log}`);
  },

  /** pg_ctl stop -m fast -w, bounded. @param {LifecycleContext} ctx */
  async stop(ctx) {
    const p = paths(ctx);
    if ((await localPid(p.dataDir)) === undefined) {
      ctx.log.info('not running');
      return;
    }
    await pgCtl(ctx, p, ['stop', '-m', 'fast']);
  },

  /** Connects over TCP as the superuser with this deployment's password and runs a query. @param {LifecycleContext} ctx */
  async ping(ctx) {
    const p = paths(ctx);
    const host = pingHost(ctx.appliance.property('listen_addresses') ?? '');
    if (host === undefined) return { healthy: false, message: "listen_addresses is empty: the server takes no TCP connections to ping" };
    const port = ctx.appliance.property('port');
    const password = ctx.password('superuser.password');
    if (password === undefined) {
      // A bundle written without password values (an image's own, as older health checks read it):
      // the most ping can check without one is that the server accepts connections on its port.
      const ready = await ctx.run({ argv: [`${p.binDir}/pg_isready`, '-q', '-h', host, '-p', String(port), '-t', '5'], user: p.owner, timeoutMs: PING_TIMEOUT_MS });
      return ready.exitCode === 0
        ? { healthy: true, message: `${host}:${port} accepts connections (no password here to log in with)` }
        : { healthy: false, message: `${host}:${port} does not accept connections (pg_isready exit ${ready.exitCode})` };
    }
    const r = await ctx.run({
      argv: [`${p.binDir}/psql`, '-X', '-A', '-t', '-q', '-w', '-h', host, '-p', String(port), '-U', p.superuser, '-d', 'postgres', '-c', "SELECT 'ok ' || current_setting('server_version')"],
      user: p.owner,
      // The password travels in the environment of psql, never on its command line.
      env: { PGPASSWORD: password, PGCONNECT_TIMEOUT: '5', PGSSLMODE: 'prefer' },
      timeoutMs: PING_TIMEOUT_MS,
    });
    const out = r.stdout.trim();
    if (r.exitCode === 0 && out.startsWith('ok ')) return { healthy: true, message: `${host}:${port} answered as ${p.superuser}: PostgreSQL ${out.slice(3)}` };
    return { healthy: false, message: `${host}:${port}: ${(r.stderr.trim() || out || `psql exited ${r.exitCode}`).split('\n')[0]}` };
  },
};

// ---------------------------------------------------------------- helpers of the lifecycle methods

const PG_CTL_TIMEOUT_S = 60;
const PING_TIMEOUT_MS = 15_000;

/** Where the cluster is on this instance: the file sets' roots (reference paths, or under a test root). */
function paths(ctx) {
  const fs = (name) => ctx.appliance.fileSets.find((f) => f.name === name);
  const data = fs('data');
  const dataDir = data?.root ?? ctx.appliance.property('data.directory');
  if (!dataDir) throw new Error('the appliance has neither a file set "data" nor a data.directory property; was it made by the postgresql plugin?');
  const config = fs('config');
  const configDir = config?.root ?? (ctx.appliance.property('config.directory') === ctx.appliance.property('data.directory') ? dataDir : ctx.appliance.property('config.directory'));
  const binaries = fs('binaries');
  const binDir = binaries ? `${binaries.root}/bin` : ctx.appliance.property('binaries.directory');
  return {
    dataDir,
    configDir,
    binDir,
    owner: data?.owner ?? 'postgres',
    group: data?.group ?? 'postgres',
    superuser: ctx.appliance.property('superuser.name') || data?.owner || 'postgres',
  };
}

/** The pid in postmaster.pid when that process lives; this machine. */
async function localPid(dataDir) {
  // The few reads runningPid makes, on this machine's files (an instance has no reference host).
  const readTextIfExists = (f) => readFile(f, 'utf8').catch((err) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  return runningPidOn({ exists, readTextIfExists }, dataDir);
}

async function exists(path) {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** pg_ctl as the cluster's owner, waiting (-w) at most PG_CTL_TIMEOUT_S; a failure says what pg_ctl said. */
async function pgCtl(ctx, p, args, extra = []) {
  const r = await ctx.run({
    argv: [`${p.binDir}/pg_ctl`, '-D', p.configDir, '-w', '-t', String(PG_CTL_TIMEOUT_S), ...extra, ...args],
    user: p.owner,
    timeoutMs: (PG_CTL_TIMEOUT_S + 15) * 1000,
  });
  if (r.exitCode !== 0) {
    const log = args.includes('-l') ? args[args.indexOf('-l') + 1] : undefined;
    throw pgError('POSTGRESQL_PG_CTL', `pg_ctl ${args[0]} of ${p.configDir} failed (exit ${r.exitCode}): ${(r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' / ')}`, log ? `see the server log ${log}` : 'see the server log (log_directory in the data directory)');
  }
  return r;
}

/** A setting as the server reads it (postgresql.conf with its includes, then postgresql.auto.conf). */
async function setting(ctx, p, name) {
  const r = await ctx.run({ argv: [`${p.binDir}/postgres`, '-D', p.configDir, '-C', name], user: p.owner, timeoutMs: 30_000 });
  if (r.exitCode !== 0) {
    throw pgError('POSTGRESQL_CONFIG_INVALID', `the server cannot read ${p.configDir}/postgresql.conf (postgres -C ${name}, exit ${r.exitCode}): ${r.stderr.trim().split('\n')[0] ?? ''}`, 'check the rendered file and the properties it took its values from');
  }
  const value = r.stdout.trim();
  return name.endsWith('_file') && value !== '' && !value.startsWith('/') ? `${p.dataDir}/${value}` : value;
}

async function replaceFile(file, text) {
  const tmp = `${file}.abctl-tmp`;
  const { mode, uid, gid } = await stat(file);
  await writeFile(tmp, text, { mode: mode & 0o7777 });
  await chown(tmp, uid, gid);
  await rename(tmp, file);
}

/** pg_tblspc/<oid> must lead to the tablespace's file set where it landed (its own path, or under a test root). */
async function pointTablespaces(ctx, p) {
  for (const fs of ctx.appliance.fileSets.filter((f) => f.name.startsWith('tablespace-'))) {
    const link = `${p.dataDir}/pg_tblspc/${fs.name.slice('tablespace-'.length)}`;
    if ((await readlink(link).catch(() => undefined)) === fs.root) continue;
    await rm(link, { force: true });
    await symlink(fs.root, link);
    await ctx.setOwnership(link, { owner: p.owner, group: p.group });
  }
}

/** ALTER SYSTEM values of the managed settings would beat postgresql.conf: the plan's values win. */
async function dropAutoSettings(ctx, p) {
  const file = `${p.dataDir}/postgresql.auto.conf`;
  if (!(await exists(file))) return;
  const text = await readFile(file, 'utf8');
  const kept = text.split('\n').filter((line) => !MANAGED.includes(/^\s*([A-Za-z_]+)/.exec(line)?.[1]?.toLowerCase() ?? ''));
  if (kept.length !== text.split('\n').length) {
    await replaceFile(file, kept.join('\n'));
    ctx.log.info(`removed ${MANAGED.join('/')} from ${file} (set by ALTER SYSTEM on the reference)`);
  }
}

/**
 * ssl = on needs a certificate and key on this machine. Debian's snakeoil pair identifies the host
 * it was made on, so each instance gets its own (self-signed, as Debian's package makes it); any
 * other key is a secret abctl does not ship: the instance must have it, or the plan turns ssl off.
 */
async function ensureCertificate(ctx, p) {
  const cert = await setting(ctx, p, 'ssl_cert_file');
  const key = await setting(ctx, p, 'ssl_key_file');
  if ((await exists(cert)) && (await exists(key))) return;
  if (cert !== SNAKEOIL.cert || key !== SNAKEOIL.key) {
    throw pgError('POSTGRESQL_SSL_FILES', `ssl is on but ${(await exists(cert)) ? key : cert} is missing on this instance`, `put the certificate and key there before deploying, or set ssl to false in the deployment plan`);
  }
  await mkdir(dirname(key), { recursive: true });
  await mkdir(dirname(cert), { recursive: true });
  const r = await ctx.run({
    argv: ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', `/CN=${ctx.instance.hostName}`, '-keyout', key, '-out', cert],
    timeoutMs: 60_000,
  });
  if (r.exitCode !== 0) {
    throw pgError('POSTGRESQL_SSL_FILES', `making a self-signed certificate for ${ctx.instance.hostName} failed (openssl exit ${r.exitCode}): ${r.stderr.trim().split('\n')[0] ?? ''}`, 'install openssl on the instance (apt-get install openssl), or set ssl to false in the deployment plan');
  }
  // The server reads the key as its own user (no supplementary groups here): owner-only.
  await ctx.setOwnership(key, { owner: p.owner, group: p.group, mode: 0o600 });
  await ctx.setOwnership(cert, { owner: 'root', group: 'root', mode: 0o644 });
  ctx.log.info(`made a self-signed certificate for ${ctx.instance.hostName} (${cert})`);
}

/**
 * Starts the server privately (no TCP, a unix socket in a 0700 directory of its owner, a pg_hba
 * that trusts that socket), sends ALTER ROLE with the password's SCRAM verifier on psql's stdin,
 * and stops it again, also when something fails.
 */
async function setSuperuserPassword(ctx, p) {
  const password = ctx.password('superuser.password');
  if (password === undefined || password === '') {
    throw pgError('POSTGRESQL_NO_PASSWORD', 'superuser.password has no value', 'set it in the deployment plan (abctl setProperty, or the plan file) and deploy again');
  }
  const dir = await mkdtemp(join(tmpdir(), 'abctl-pg-'));
  try {
    await ctx.setOwnership(dir, { owner: p.owner, group: p.group, mode: 0o700 });
    const hba = join(dir, 'pg_hba.conf');
    await writeFile(hba, 'local all all trust\n', { mode: 0o600 });
    await ctx.setOwnership(hba, { owner: p.owner, group: p.group, mode: 0o600 });
    const port = String(ctx.appliance.property('port') ?? '5432');
    const log = join(dir, 'server.log');
    const opts = `-c listen_addresses='' -c unix_socket_directories='${dir}' -c hba_file='${hba}' -c ssl=off -c external_pid_file='' -p ${port}`;
    await pgCtl(ctx, p, ['start', '-l', log], ['-o', opts]);
    try {
      const role = `"${p.superuser.replace(/"/g, '""')}"`;
      const r = await ctx.run({
        argv: [`${p.binDir}/psql`, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', port, '-U', p.superuser, '-d', 'template1'],
        user: p.owner,
        input: `ALTER ROLE ${role} WITH PASSWORD '${scramVerifier(password)}';\n`,
        timeoutMs: 30_000,
      });
      if (r.exitCode !== 0) {
        throw pgError('POSTGRESQL_PASSWORD', `setting the password of role ${p.superuser} failed: ${r.stderr.trim().split('\n')[0] ?? `psql exit ${r.exitCode}`}`, 'superuser.name must name a role of the cluster (initdb names it after the account that ran it)');
      }
      ctx.log.info(`password of role ${p.superuser} set`);
    } finally {
      await pgCtl(ctx, p, ['stop', '-m', 'fast']);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Where start's pg_ctl writes: Debian's log file for a Debian cluster, else log/ in the data directory. */
async function serverLog(ctx, p) {
  const name = ctx.appliance.property('cluster.name');
  const file = name ? `/var/log/postgresql/postgresql-${name.replace('/', '-')}.log` : `${p.dataDir}/log/pg_ctl.log`;
  if (!(await exists(dirname(file)))) {
    await mkdir(dirname(file), { recursive: true });
    await ctx.setOwnership(dirname(file), { owner: p.owner, group: p.group, mode: 0o750 });
  }
  return file;
}

/** The address ping connects to: loopback when the server listens everywhere. */
function pingHost(listen) {
  const first = listen.split(',').map((a) => a.trim()).filter(Boolean);
  if (first.length === 0) return undefined;
  if (first.some((a) => a === '*' || a === '0.0.0.0')) return '127.0.0.1';
  if (first.includes('::')) return '::1';
  return first[0];
}

// ---------------------------------------------------------------- the other services

/** The upgrade check looks for a newer plugin shipped in the installation's home. */
const locator = {
  pluginOrExtensionName: NAME,
  productInstallHomes(parameters) {
    const c = typeof parameters.cluster === 'string' ? parameters.cluster : '';
    const version = /^(\d+)(\.\d+)?\//.exec(c)?.[1];
    return version ? [`/usr/lib/postgresql/${version}`] : c.startsWith('/') ? [c] : [];
  },
};

/**
 * Copying a live data directory gives an inconsistent cluster (files change under tar, and a
 * fresh server would start crash recovery from a half-copied WAL): refuse while the postmaster runs.
 */
const captureCheck = {
  pluginName: NAME,
  async validateCapture({ appliance, host }) {
    const dataDir = appliance?.property('data.directory');
    if (!dataDir) return undefined;
    const pid = await runningPidOn(host, dataDir);
    if (pid === undefined) return undefined;
    const name = appliance.property('cluster.name');
    const configDir = appliance.property('config.directory') || dataDir;
    const how = name ? `pg_ctlcluster ${name.replace('/', ' ')} stop` : `su postgres -c "pg_ctl -D ${configDir} -m fast stop"`;
    return `PostgreSQL ${name ? `cluster ${name}` : `in ${dataDir}`} is running (pid ${pid}): a running cluster's files cannot be copied consistently; stop it first: ${how}`;
  },
};

/**
 * What the captured binaries need of a base image or host: the shared libraries postgres, psql and
 * pg_ctl link against (found with ldd and dpkg -S on Debian 12, with the minimum versions
 * postgresql-15 and libpq5 declare), the time zone data (Debian builds with the system's), and the
 * account that owns the data.
 */
const LIBRARIES = [
  ['libc6', '2.34'],
  ['libgcc-s1', '3.0'],
  ['libstdc++6', '5.2'],
  ['libgssapi-krb5-2', '1.17'],
  ['libicu72', '72.1~rc-1~'],
  ['libldap-2.5-0', '2.5.4'],
  ['liblz4-1', '0.0~r130'],
  ['libpam0g', '0.99.7.1'],
  ['libpq5', '14~beta2'],
  ['libssl3', '3.0.0'],
  ['libsystemd0'],
  ['libuuid1', '2.16'],
  ['libxml2', '2.7.4'],
  ['libzstd1', '1.5.2'],
  ['zlib1g', '1:1.1.4'],
  ['libreadline8'],
];

const baseRequirements = {
  pluginName: NAME,
  baseImageRequirements() {
    return [
      ...LIBRARIES.map(([name, minVersion]) => ({ kind: 'package', name, ...(minVersion ? { minVersion } : {}), message: 'a shared library the PostgreSQL programs link against' })),
      { kind: 'package', name: 'tzdata', message: 'PostgreSQL reads time zones from /usr/share/zoneinfo' },
      { kind: 'package', name: 'locales', severity: 'warning', message: 'clusters made with a locale other than C or C.UTF-8 need it generated (locale-gen)' },
      { kind: 'package', name: 'openssl', severity: 'warning', message: "with ssl on and Debian's snakeoil certificate, rehydration makes a new certificate with openssl" },
      { kind: 'user', name: 'postgres', message: 'the server runs as postgres' },
      { kind: 'group', name: 'postgres', message: 'the data directory belongs to group postgres' },
    ];
  },
};

export const activator = {
  /** @param {ServiceContext} context */
  start(context) {
    // abctl withdraws them when the plugin stops (SDK 1.5): no stop() to write.
    context.registerServices({ IntrospectorPlugin: plugin, IntrospectorPluginLocator: locator, PackagerValidationPlugin: captureCheck, BaseImageValidationPlugin: baseRequirements });
  },
};
