// Tomcat on a deployed instance: rehydrate (config templates with this deployment's ports, peers
// and passwords), start, stop and ping. These run on the instance itself (the agent, as root),
// so they use the local file system; the product runs as the user tomcat.

import { lstat, mkdir, readdir, readFile, readlink, rm, symlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { repointJdbcUrl, resourcePath, SETENV } from './dehydrate.js';

export const RUN_USER = 'tomcat';
const START_TIMEOUT_MS = Number(process.env.AB_TOMCAT_START_TIMEOUT_MS ?? 120_000);
const STOP_TIMEOUT_MS = 60_000;

/** Where the file sets put Tomcat on this instance (in the test kit, under its temporary root). */
export function layout(ctx) {
  const sets = new Map(ctx.appliance.fileSets.map((f) => [f.name, f]));
  const home = sets.get('home')?.root;
  const base = sets.get('base')?.root;
  if (!home || !base) throw new Error('the appliance lacks the file sets "home" and "base"; was it made by the tomcat plugin?');
  return { home, base, conf: sets.get('conf')?.root ?? `${base}/conf`, confSet: sets.get('conf') };
}

/** The pid of the JVM running `base` (its -Dcatalina.base= argument), found in /proc; undefined when none. */
export async function runningPid(base) {
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const args = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (args.split('\0').includes(`-Dcatalina.base=${base}`)) return Number(entry);
  }
  return undefined;
}

const isAlive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * logs, work and temp were not captured: make them (or what their links point at, as Debian's
 * links to /var/log and /var/cache) and give them to tomcat. In the test kit the file sets moved
 * under a temporary root, so a conf link to an absolute path is pointed at where conf landed.
 */
async function prepareDirectories(ctx, { base, conf, confSet }) {
  if (confSet) {
    const st = await lstat(`${base}/conf`).catch(() => undefined);
    if (st?.isSymbolicLink() && posix.resolve(base, await readlink(`${base}/conf`)) !== conf) {
      await rm(`${base}/conf`);
      await symlink(conf, `${base}/conf`);
    }
  }
  for (const sub of ['logs', 'work', 'temp', 'webapps']) {
    const p = `${base}/${sub}`;
    const st = await lstat(p).catch(() => undefined);
    const dir = st?.isSymbolicLink() ? posix.resolve(base, await readlink(p)) : p;
    await mkdir(dir, { recursive: true });
    await ctx.setOwnership(dir, { owner: RUN_USER, group: RUN_USER });
  }
}

/** The URL of each JDBC output: pointed at the first connected peer, else the introspected one. */
function jdbcUrls(ctx) {
  const out = {};
  for (const o of ctx.appliance.outputs) {
    const name = `jdbc.${o.name}.url`;
    const url = ctx.appliance.property(name);
    if (url === undefined) continue;
    const peer = o.peers[0];
    const host = peer && (peer.addresses.find(Boolean) ?? peer.hostNames.find(Boolean));
    if (peer && host) {
      out[name] = repointJdbcUrl(url, host, peer.port);
    } else {
      ctx.log.info(`output ${o.name} is not connected: its resource keeps ${url}`);
      out[name] = url;
    }
  }
  return out;
}

export async function rehydrate(ctx) {
  const where = layout(ctx);
  await prepareDirectories(ctx, where);
  const variables = jdbcUrls(ctx);
  // Passwords reach only the files that hold them. abctl makes a file holding a password value 0600,
  // but it looks for the clear value and these are XML-escaped, so every rendered file is 0600 here.
  for (const p of ctx.appliance.properties) {
    if (p.type === 'password' && (p.name.startsWith('jdbc.') || p.name === 'manager.password')) variables[p.name] = ctx.password(p.name);
  }
  for (const name of ctx.appliance.contentResources) {
    if (name === SETENV.home) {
      // The installation's script stays root's, as the rest of CATALINA_HOME; catalina.sh only reads it.
      await ctx.renderContentResource(name, `${where.home}/bin/setenv.sh`, { variables, owner: 'root', group: 'root', mode: 0o755 });
    } else if (name === SETENV.base) {
      await ctx.renderContentResource(name, `${where.base}/bin/setenv.sh`, { variables, owner: RUN_USER, group: RUN_USER, mode: 0o700 });
    } else if (name.endsWith('.xml') || name === 'catalina.properties') {
      await ctx.renderContentResource(name, `${where.conf}/${resourcePath(name)}`, { variables, owner: RUN_USER, group: RUN_USER, mode: 0o600 });
    }
  }
  const http = ctx.appliance.inputs[0];
  ctx.log.info(`configured ${where.base}: ${ctx.appliance.inputs.map((i) => `${i.name} on ${i.port}`).join(', ')}; ${ctx.appliance.outputs.length} JDBC resource(s)`);
  return http;
}

/** The URL ping and start ask: the first connector, on loopback unless it listens on one address only. */
function connectorUrl(ctx) {
  const input = ctx.appliance.inputs[0];
  const address = ctx.appliance.property(`connector.${input.name}.address`);
  const host = !address || address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;
  return `${input.protocols.includes('https') ? 'https' : 'http'}://${host}:${input.port}/`;
}

/** The HTTP status the connector answers with, or undefined when nothing answers within 3 s. */
async function probe(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000), redirect: 'manual' });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

export async function start(ctx) {
  const where = layout(ctx);
  const running = await runningPid(where.base);
  if (running !== undefined) {
    ctx.log.info(`already running (pid ${running})`);
    return;
  }
  await prepareDirectories(ctx, where);
  const log = `${where.base}/logs/catalina.out`;
  // catalina.sh run execs the JVM in the foreground, so the detached process is Tomcat itself.
  const { pid } = await ctx.run({
    argv: [`${where.home}/bin/catalina.sh`, 'run'],
    user: RUN_USER,
    cwd: where.base,
    env: { CATALINA_HOME: where.home, CATALINA_BASE: where.base, CATALINA_TMPDIR: `${where.base}/temp`, JAVA_OPTS: '-Djava.awt.headless=true' },
    detached: { logFile: log },
  });
  const url = connectorUrl(ctx);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while ((await probe(url)) === undefined) {
    if (!isAlive(pid)) throw new Error(`Tomcat (pid ${pid}) exited while starting; see ${log}`);
    if (Date.now() > deadline || ctx.signal.aborted) throw new Error(`Tomcat (pid ${pid}) did not answer ${url} within ${START_TIMEOUT_MS / 1000} s; see ${log} (AB_TOMCAT_START_TIMEOUT_MS sets the limit)`);
    await sleep(250);
  }
  ctx.log.info(`Tomcat started (pid ${pid}), ${url} answers`);
}

export async function stop(ctx) {
  const { base } = layout(ctx);
  const pid = await runningPid(base);
  if (pid === undefined) {
    ctx.log.info('not running');
    return;
  }
  // The JVM's shutdown hook stops Tomcat cleanly on SIGTERM, as the shutdown port would.
  await ctx.utils.stopProcess(pid, { name: 'Tomcat', timeoutMs: STOP_TIMEOUT_MS });
  ctx.log.info(`Tomcat (pid ${pid}) stopped`);
}

export async function ping(ctx) {
  const url = connectorUrl(ctx);
  const status = await probe(url);
  if (status === undefined) return { healthy: false, message: `no answer from ${url}` };
  if (status >= 500) return { healthy: false, message: `${url} answered HTTP ${status}` };
  return { healthy: true, message: `${url} answered HTTP ${status}` };
}
