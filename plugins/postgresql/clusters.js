// Finding PostgreSQL clusters on a reference host (read-only: files, /proc, `ps`), and resolving
// the `cluster` job parameter to one of them.
import { parseConf } from './conf.js';

const DEBIAN_CONF_ROOT = '/etc/postgresql';

/**
 * @typedef {object} Cluster
 * @property {string} dataDir
 * @property {string} configDir    directory holding postgresql.conf (the data directory for initdb clusters)
 * @property {string | undefined} name  Debian cluster name (`15/main`)
 * @property {string | undefined} version  major version (PG_VERSION, else the Debian path)
 * @property {number} port
 * @property {number | undefined} pid   the postmaster's pid while it runs
 * @property {string | undefined} binDir  where its programs are, when known
 */

/** Error with a code and a hint, shown by abctl as this plugin's error. */
export function pgError(code, message, hint) {
  return Object.assign(new Error(message), { code, ...(hint ? { hint } : {}) });
}

async function readIfExists(host, path) {
  try {
    return await host.readTextIfExists(path);
  } catch {
    // Unreadable (a data directory is 0700 postgres and we may be another user over SSH).
    return undefined;
  }
}

/**
 * A configuration file's text (undefined when it is missing) read once per host object, i.e. once
 * per job: finding the cluster, describing it and dehydrate all want postgresql.conf. The host
 * object goes with its job, and its entry with it.
 */
const confTexts = new WeakMap();
export function readConf(host, path) {
  let byPath = confTexts.get(host);
  if (!byPath) confTexts.set(host, (byPath = new Map()));
  let text = byPath.get(path);
  if (!text) byPath.set(path, (text = host.readTextIfExists(path)));
  return text;
}

/** As readConf, but a missing file is the host's own error (HOST_PATH_NOT_FOUND). */
export async function readConfText(host, path) {
  return (await readConf(host, path)) ?? host.readText(path);
}

/** The postmaster's pid from postmaster.pid when that process is alive; undefined otherwise. */
export async function runningPid(host, dataDir) {
  const text = await readIfExists(host, `${dataDir}/postmaster.pid`);
  const pid = text === undefined ? NaN : Number.parseInt(text, 10);
  // /proc/<pid> exists while it runs; a pid file left by a crash is no reason to call it running.
  return Number.isInteger(pid) && pid > 0 && (await host.exists(`/proc/${pid}`)) ? pid : undefined;
}

async function describe(host, { dataDir, configDir, name, binDir, pid }) {
  const conf = parseConf((await readConf(host, `${configDir}/postgresql.conf`).catch(() => undefined)) ?? '');
  const version = (await readIfExists(host, `${dataDir}/PG_VERSION`))?.trim() ?? name?.split('/')[0];
  const live = pid ?? (await runningPid(host, dataDir));
  // A running postmaster's port may come from its command line (-p): postmaster.pid's 4th line says which.
  const pidPort = live ? Number((await readIfExists(host, `${dataDir}/postmaster.pid`))?.split('\n')[3]) : NaN;
  const port = Number.isInteger(pidPort) && pidPort > 0 ? pidPort : Number(conf.get('port') ?? 5432);
  return {
    dataDir,
    configDir,
    name,
    version,
    port: Number.isInteger(port) ? port : 5432,
    pid: live,
    binDir: binDir ?? (version && (await host.exists(`/usr/lib/postgresql/${version}/bin/postgres`)) ? `/usr/lib/postgresql/${version}/bin` : undefined),
  };
}

/** Debian's clusters: /etc/postgresql/<version>/<name>/postgresql.conf naming their data directory. */
async function debianClusters(host) {
  const found = [];
  for (const hit of await host.glob('*/*/postgresql.conf', { cwd: DEBIAN_CONF_ROOT })) {
    const [version, name] = hit.split('/');
    const configDir = `${DEBIAN_CONF_ROOT}/${version}/${name}`;
    const conf = parseConf(await readConfText(host, `${configDir}/postgresql.conf`));
    const dataDir = conf.get('data_directory') ?? `/var/lib/postgresql/${version}/${name}`;
    found.push({ dataDir, configDir, name: `${version}/${name}` });
  }
  return found;
}

/** The arguments of a running postmaster: `-D dir`, `-c config_file=...`, `--config-file=...`. */
export function postmasterArgs(argv) {
  let dataDir;
  let configFile;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '-D') dataDir = next();
    else if (a.startsWith('-D')) dataDir = a.slice(2);
    else if (a === '-c' || a.startsWith('--')) {
      const kv = a === '-c' ? next() : a.slice(2);
      const eq = kv?.indexOf('=') ?? -1;
      if (eq > 0 && kv.slice(0, eq).replace(/-/g, '_') === 'config_file') configFile = kv.slice(eq + 1);
      if (eq > 0 && kv.slice(0, eq).replace(/-/g, '_') === 'data_directory') dataDir = kv.slice(eq + 1);
    }
  }
  return { dataDir, configFile };
}

/** Postmasters running on the host, found in the job's process list and read from /proc/<pid>/cmdline. */
async function runningClusters(host) {
  // Candidates: a program named postgres or postmaster (its directory may hold spaces, so not
  // only the first word); the cmdline check below keeps the postmaster alone.
  const processes = await host.processes().catch(() => []);
  const found = [];
  for (const { pid } of processes.filter((p) => /(^|\/)(postgres|postmaster)(\s|$)/.test(p.args))) {
    let argv;
    try {
      argv = (await host.readText(`/proc/${pid}/cmdline`)).split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
    } catch {
      continue;
    }
    // Backends and helpers rename themselves ("postgres: 15/main: checkpointer"): only the postmaster keeps its argv.
    if (argv.length === 0 || !/(^|\/)(postgres|postmaster)$/.test(argv[0])) continue;
    let { dataDir, configFile } = postmasterArgs(argv);
    const cwd = (await host.lstat(`/proc/${pid}/cwd`).catch(() => undefined))?.linkTarget;
    const abs = (p) => (p === undefined || p.startsWith('/') || !cwd ? p : `${cwd}/${p}`);
    dataDir = abs(dataDir);
    configFile = abs(configFile);
    const configDir = configFile ? configFile.slice(0, configFile.lastIndexOf('/')) : dataDir;
    if (configFile && (dataDir === undefined || dataDir === configDir)) {
      const conf = parseConf((await readConf(host, configFile).catch(() => undefined)) ?? '');
      dataDir = conf.get('data_directory') ?? dataDir;
    }
    if (!dataDir || !configDir) continue;
    const exe = (await host.lstat(`/proc/${pid}/exe`).catch(() => undefined))?.linkTarget ?? (argv[0].startsWith('/') ? argv[0] : undefined);
    found.push({ dataDir, configDir, binDir: exe ? exe.slice(0, exe.lastIndexOf('/')) : undefined, pid: Number(pid) });
  }
  return found;
}

/** Data directories under extra search roots (`AB_POSTGRESQL_SEARCH`, colon-separated): `<root>/PG_VERSION` or `<root>/*\/PG_VERSION`. */
async function searchedClusters(host, roots) {
  const found = [];
  for (const root of roots) {
    for (const hit of await host.glob(['PG_VERSION', '*/PG_VERSION'], { cwd: root })) {
      const dataDir = hit === 'PG_VERSION' ? root : `${root}/${hit.slice(0, -'/PG_VERSION'.length)}`;
      if (await host.exists(`${dataDir}/postgresql.conf`)) found.push({ dataDir, configDir: dataDir });
    }
  }
  return found;
}

/** Every cluster the host shows: Debian's, running postmasters, and data directories under `searchRoots`. */
export async function findClusters(host, searchRoots = []) {
  const byData = new Map();
  const lists = [await debianClusters(host), await runningClusters(host), await searchedClusters(host, searchRoots)];
  for (const c of lists.flat()) {
    const prev = byData.get(c.dataDir);
    byData.set(c.dataDir, { ...c, ...prev, ...(prev && !prev.binDir ? { binDir: c.binDir } : {}), ...(prev && !prev.pid ? { pid: c.pid } : {}) });
  }
  const out = [];
  for (const c of byData.values()) out.push(await describe(host, c));
  return out.sort((a, b) => a.dataDir.localeCompare(b.dataDir));
}

export function searchRootsFromEnv() {
  return (process.env.AB_POSTGRESQL_SEARCH ?? '').split(':').filter((p) => p.startsWith('/'));
}

/** One line per cluster, for discovery and for the "which one?" error. */
export function clusterSummary(c) {
  const what = c.name ? `cluster ${c.name}` : `cluster in ${c.dataDir}`;
  return `PostgreSQL ${c.version ?? '?'} ${what} on port ${c.port}, ${c.pid ? `running (pid ${c.pid})` : 'stopped'}`;
}

/**
 * The cluster a job parameter names: a Debian name (`15/main`), a configuration directory or a
 * data directory; none when the host has exactly one cluster.
 */
export async function resolveCluster(host, param, searchRoots = []) {
  const value = typeof param === 'string' ? param.trim().replace(/(.)\/+$/, '$1') : '';
  if (value === '') {
    const all = await findClusters(host, searchRoots);
    if (all.length === 1) return all[0];
    if (all.length === 0) throw pgError('POSTGRESQL_NO_CLUSTER', `no PostgreSQL cluster found on ${host.describe()}`, 'name one with --cluster (a data directory, its configuration directory, or a Debian cluster name such as 15/main)');
    throw pgError('POSTGRESQL_WHICH_CLUSTER', `${all.length} PostgreSQL clusters on ${host.describe()}: ${all.map((c) => c.name ?? c.dataDir).join(', ')}`, `choose one with --cluster (e.g. --cluster ${all[0].name ?? all[0].dataDir})`);
  }
  if (/^\d+(\.\d+)?\/[^/]+$/.test(value)) {
    const configDir = `${DEBIAN_CONF_ROOT}/${value}`;
    if (!(await host.exists(`${configDir}/postgresql.conf`))) {
      throw pgError('POSTGRESQL_NO_CLUSTER', `no Debian cluster ${value}: ${configDir}/postgresql.conf does not exist`, 'pg_lsclusters lists the clusters; or give the data directory with --cluster');
    }
    return (await findClusters(host, searchRoots)).find((c) => c.configDir === configDir) ?? describe(host, { ...(await debianFrom(host, configDir)), name: value });
  }
  if (!value.startsWith('/')) throw pgError('POSTGRESQL_CLUSTER_PARAM', `--cluster "${value}" is neither an absolute directory nor a Debian cluster name`, 'give a data directory (/var/lib/postgresql/15/main), a configuration directory (/etc/postgresql/15/main) or a name such as 15/main');
  const known = (await findClusters(host, searchRoots)).find((c) => c.dataDir === value || c.configDir === value);
  if (known) return known;
  const hasConf = await host.exists(`${value}/postgresql.conf`);
  const hasVersion = await host.exists(`${value}/PG_VERSION`);
  if (hasConf && !hasVersion) return describe(host, await debianFrom(host, value));
  if (hasVersion && hasConf) return describe(host, { dataDir: value, configDir: value });
  if (hasVersion) {
    throw pgError('POSTGRESQL_CONFIG_NOT_FOUND', `${value} is a data directory without postgresql.conf, and no configuration directory names it`, 'give the directory holding its postgresql.conf with --cluster');
  }
  throw pgError('POSTGRESQL_NO_CLUSTER', `${value} holds neither postgresql.conf nor PG_VERSION: not a PostgreSQL cluster`, 'give a data directory, a configuration directory or a Debian cluster name (15/main); abctl discover lists what it finds');
}

async function debianFrom(host, configDir) {
  const conf = parseConf(await readConfText(host, `${configDir}/postgresql.conf`));
  const dataDir = conf.get('data_directory');
  if (!dataDir) throw pgError('POSTGRESQL_CONFIG_NOT_FOUND', `${configDir}/postgresql.conf sets no data_directory and ${configDir} is no data directory`, 'give the data directory with --cluster');
  const m = /^\/etc\/postgresql\/([^/]+)\/([^/]+)$/.exec(configDir);
  return { dataDir, configDir, ...(m ? { name: `${m[1]}/${m[2]}` } : {}) };
}
