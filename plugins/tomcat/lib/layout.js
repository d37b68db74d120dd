// Where Tomcat is on a reference host: installations (CATALINA_HOME), instances (CATALINA_BASE),
// running Tomcat processes and versions. Everything here only reads, through the read-only
// reference host abctl hands the plugin (this machine or one reached over SSH).

import { posix } from 'node:path';

/** Follows a chain of symbolic links (at most 16) to the path it ends at, or undefined when it dangles. */
export async function resolveLinks(host, path) {
  let at = path;
  for (let hops = 0; hops < 16; hops++) {
    const st = await host.lstat(at);
    if (st === undefined) return undefined;
    if (st.type !== 'symlink') return at;
    at = posix.resolve(posix.dirname(at), st.linkTarget);
  }
  return undefined;
}

/**
 * Running Tomcat JVMs: `{ pid, base, home }` from their `-Dcatalina.base=` and `-Dcatalina.home=`
 * arguments. ps finds the candidates; /proc/<pid>/cmdline gives the exact arguments (paths with
 * spaces included).
 */
export async function tomcatProcesses(host) {
  // The job's one process list, shared with the other plugins (SDK 1.5); none when ps fails.
  const found = [];
  for (const p of await host.processes().catch(() => [])) {
    if (!p.args.includes('-Dcatalina.base=')) continue;
    let args;
    try {
      args = (await host.readText(`/proc/${p.pid}/cmdline`)).split('\0');
    } catch {
      continue; // it ended meanwhile
    }
    const value = (key) => args.find((a) => a.startsWith(`-D${key}=`))?.slice(key.length + 3);
    const base = value('catalina.base');
    if (base) found.push({ pid: p.pid, base: posix.normalize(base), home: value('catalina.home') });
  }
  return found;
}

/**
 * The Tomcat version of an installation. Debian's lib/catalina.jar is a link chain ending at
 * tomcat10-catalina-<version>.jar; a tarball has RELEASE-NOTES; otherwise bin/version.sh asks the
 * JVM (slow, so last).
 */
export async function tomcatVersion(host, home) {
  const jar = await resolveLinks(host, `${home}/lib/catalina.jar`);
  const fromName = jar && /-(\d+\.\d+\.\d+)\.jar$/.exec(jar)?.[1];
  if (fromName) return fromName;
  const notes = await host.readTextIfExists(`${home}/RELEASE-NOTES`);
  if (notes !== undefined) {
    const v = /Apache Tomcat Version (\d[\w.-]*)/.exec(notes)?.[1];
    if (v) return v;
  }
  if (await host.exists(`${home}/bin/version.sh`)) {
    const r = await host.run(['sh', `${home}/bin/version.sh`], { timeoutMs: 30_000, env: { CATALINA_HOME: home } });
    const v = /Server number:\s*(\S+)/.exec(r.stdout)?.[1];
    if (v) return v;
  }
  return 'unknown';
}

const isHome = (host, dir) => host.exists(`${dir}/bin/catalina.sh`);

/** CATALINA_HOME candidates: Debian's /usr/share/tomcat*, tarballs under /opt, and what running JVMs use. */
async function installations(host, processes) {
  const homes = new Set();
  // One directory listing each, not a glob: a glob walks all of /usr/share, slow over SSH.
  for (const [dir, match] of [['/usr/share', (n) => n.startsWith('tomcat')], ['/opt', (n) => n.includes('tomcat')]]) {
    for (const e of await host.readdir(dir).catch(() => [])) {
      if (match(e.name) && (await isHome(host, `${dir}/${e.name}`))) homes.add(`${dir}/${e.name}`);
    }
  }
  for (const p of processes) if (p.home && (await isHome(host, p.home))) homes.add(posix.normalize(p.home));
  return [...homes].sort();
}

/**
 * Instances (CATALINA_BASE) with the home each runs from: Debian's /var/lib/tomcat* (home
 * /usr/share/tomcat*), a tarball that is its own base, and the base of every running JVM.
 */
export async function findInstances(host) {
  const processes = await tomcatProcesses(host);
  const homes = await installations(host, processes);
  const bases = new Map();
  const add = (base, home, pid) => {
    const known = bases.get(base);
    if (!known || (pid !== undefined && known.pid === undefined)) bases.set(base, { base, home: home ?? known?.home, pid: pid ?? known?.pid });
  };
  // conf is a link on Debian, which glob does not follow: list the directories and look.
  for (const e of await host.readdir('/var/lib').catch(() => [])) {
    if (!e.name.startsWith('tomcat') || !(await host.exists(`/var/lib/${e.name}/conf/server.xml`))) continue;
    const base = `/var/lib/${e.name}`;
    const debianHome = `/usr/share/${posix.basename(base)}`;
    add(base, homes.includes(debianHome) ? debianHome : undefined);
  }
  for (const home of homes) if (await host.exists(`${home}/conf/server.xml`)) add(home, home);
  for (const p of processes) add(p.base, p.home && (await isHome(host, p.home)) ? p.home : undefined, p.pid);
  const out = [];
  for (const i of [...bases.values()].sort((a, b) => (a.base < b.base ? -1 : 1))) {
    out.push({ ...i, home: i.home ?? (homes.length === 1 ? homes[0] : undefined) });
  }
  return { homes, instances: out, processes };
}

/** The base and home a job works on: the parameters, else the one instance the host has. */
export async function resolveInstance(host, parameters) {
  let base = parameters['catalina-base'];
  let home = parameters['catalina-home'];
  const strip = (p) => (typeof p === 'string' ? p.replace(/\/+$/, '') || '/' : undefined);
  base = strip(base);
  home = strip(home);
  let found;
  if (base === undefined) {
    found = await findInstances(host);
    if (found.instances.length !== 1) {
      const list = found.instances.map((i) => `--catalina-base ${i.base}`).join(', ');
      throw Object.assign(new Error(found.instances.length === 0 ? `no Tomcat instance found on ${host.describe()}` : `${found.instances.length} Tomcat instances found on ${host.describe()}: ${list}`), {
        code: 'TOMCAT_BASE_AMBIGUOUS',
        hint: found.instances.length === 0 ? 'name it: --catalina-base DIR (the directory holding conf/server.xml)' : 'say which one with --catalina-base (abctl discover lists them)',
      });
    }
    base = found.instances[0].base;
    home ??= found.instances[0].home;
  }
  if (!(await host.exists(`${base}/conf/server.xml`))) {
    throw Object.assign(new Error(`${base}/conf/server.xml not found: ${base} is not a Tomcat instance`), {
      code: 'TOMCAT_BASE_INVALID',
      hint: '--catalina-base names a CATALINA_BASE: the directory holding conf/server.xml (Debian: /var/lib/tomcat10)',
    });
  }
  if (home === undefined) {
    found ??= await findInstances(host);
    home = found.instances.find((i) => i.base === base)?.home ?? ((await isHome(host, base)) ? base : found.homes.length === 1 ? found.homes[0] : undefined);
  }
  if (home === undefined || !(await isHome(host, home))) {
    throw Object.assign(new Error(home === undefined ? `cannot tell which Tomcat installation runs ${base}` : `${home}/bin/catalina.sh not found: ${home} is not a Tomcat installation`), {
      code: 'TOMCAT_HOME_INVALID',
      hint: '--catalina-home names a CATALINA_HOME: the directory holding bin/catalina.sh (Debian: /usr/share/tomcat10)',
    });
  }
  return { base, home };
}
