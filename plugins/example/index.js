// The example plugin: introspects minihttpd (examples/minihttpd), a small static web server.
// Plain JavaScript with no build step; copy this directory to start a plugin of your own.
// The contract is described in docs/plugin-contract.md.

/** @typedef {import('../../core/plugin-contract.js').ServiceContext} ServiceContext */
/** @typedef {import('../../core/plugin-contract.js').DehydrateContext} DehydrateContext */
/** @typedef {import('../../core/lifecycle-contract.js').LifecycleContext} LifecycleContext */

import { readFileSync } from 'node:fs';

const NAME = 'example';

/** Reads `key=value` lines; minihttpd's own format (no continuations or escapes). */
export function parseProperties(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#') || !t.includes('=')) continue;
    out.set(t.slice(0, t.indexOf('=')).trim(), t.slice(t.indexOf('=') + 1).trim());
  }
  return out;
}

/** The values a deployment may change: their lines in the config file become template variables. */
const TEMPLATED = new Set(['server.name', 'bind.address', 'port', 'admin.password']);

/**
 * `port=18080` becomes `port={{[port]}}`: each variable is the property of the same name, in
 * brackets because names such as `server.name` have dots (docs/templates.md).
 */
export function toTemplate(text) {
  return text
    .split('\n')
    .map((line) => {
      const key = line.includes('=') && !line.trim().startsWith('#') ? line.slice(0, line.indexOf('=')).trim() : undefined;
      return key && TEMPLATED.has(key) ? `${key}={{[${key}]}}` : line;
    })
    .join('\n');
}

// docs:begin read-config
async function readConfig(host, home) {
  const file = `${home}/conf/server.properties`;
  // One call whether or not the file is there (SDK 1.5); undefined means it is not.
  const text = await host.readTextIfExists(file);
  if (text === undefined) {
    throw new Error(`${file} not found: is ${home} a minihttpd installation? (--home points at the directory holding bin/ and conf/)`);
  }
  return { file, text };
}
// docs:end read-config

// docs:begin plugin-service
const plugin = {
  name: NAME,
  allowExtensionsToCreateAppliances: false,

  jobParameters() {
    return [{ name: 'home', type: 'path', description: 'directory minihttpd is installed in', required: true }];
  },
  // docs:end plugin-service

  // docs:begin dehydrate-read
  /** @param {DehydrateContext} ctx */
  async dehydrate(ctx) {
    const home = String(ctx.parameters.home).replace(/\/+$/, '');
    ctx.progress(10, 'reading configuration');
    const { text } = await readConfig(ctx.host, home);
    const conf = parseProperties(text);
    const version = (await ctx.host.readTextIfExists(`${home}/VERSION`))?.trim() ?? 'unknown';
    const port = Number(conf.get('port') ?? 8080);
    // docs:end dehydrate-read

    // docs:begin create-appliance
    ctx.progress(40, 'describing the appliance');
    const appliance = ctx.createAppliance({
      name: conf.get('server.name') ?? 'minihttpd',
      description: `minihttpd ${version} from ${home}`,
      resources: { memoryMiB: 256, cpus: 1 },
      properties: [
        { name: 'server.name', type: 'string', category: 'user', required: true, value: conf.get('server.name') ?? 'minihttpd', description: 'name the server reports on /health' },
        { name: 'bind.address', type: 'string', category: 'user', required: true, value: conf.get('bind.address') ?? '0.0.0.0', description: 'address to listen on' },
        { name: 'port', type: 'int', category: 'user', required: true, value: String(port), description: 'HTTP port' },
        { name: 'admin.password', type: 'password', category: 'user', required: true, value: conf.get('admin.password'), description: 'administrator password' },
        { name: 'product.home', type: 'string', category: 'system', value: home, description: 'installation directory (the same on every deployed machine)' },
        { name: 'product.version', type: 'string', category: 'system', value: version, description: 'minihttpd version' },
      ],
      // portProperty: a plan that changes "port" moves the input too (peers and the deployment record follow).
      inputs: [{ name: 'http', port, portProperty: 'port', protocols: ['http'], description: 'web content and /health' }],
      fileSets: [{ name: 'home', root: home, excludes: ['logs/*.log', 'run', 'tmp'], owner: 'root', group: 'root' }],
    });
    // docs:end create-appliance

    // docs:begin content-resource
    ctx.progress(70, 'saving the configuration template');
    // template: true has abctl check its variables now (each must be a property) and again when a plan is validated.
    // renders: rehydrate writes it there; since it names the password, the capture leaves the reference's copy out.
    ctx.addContentResource(appliance, { name: 'server.properties', content: toTemplate(text), template: true, renders: `${home}/conf/server.properties`, description: 'conf/server.properties as a template' });
    ctx.progress(100, 'done');
  },
  // docs:end content-resource

  // docs:begin discover
  /**
   * Lists minihttpd installations under the usual roots, with the --home that introspects each.
   * readdir rather than a glob: a discovery lists each directory once for all its plugins.
   */
  async discover(ctx) {
    const found = [];
    for (const base of ['/opt', '/srv', '/usr/local', ...(process.env.AB_EXAMPLE_SEARCH ?? '').split(':').filter(Boolean)]) {
      const entries = await ctx.host.readdir(base).catch((err) => (err.code === 'HOST_PATH_NOT_FOUND' ? [] : Promise.reject(err)));
      for (const { name, type } of entries) {
        const home = `${base}/${name}`;
        if (name.startsWith('.') || type === 'file' || !(await ctx.host.exists(`${home}/bin/minihttpd.mjs`))) continue;
        const version = (await ctx.host.readTextIfExists(`${home}/VERSION`))?.trim() ?? 'unknown';
        found.push({ description: `minihttpd ${version} in ${home}`, parameters: { home } });
      }
    }
    return found;
  },
  // docs:end discover

  // rehydration:begin rehydrate
  /**
   * Writes conf/server.properties from the saved template with this deployment's values.
   * @param {LifecycleContext} ctx
   */
  async rehydrate(ctx) {
    const { home, owner, group } = installation(ctx);
    // Every other variable is a property, filled in by abctl; the password is asked for by name,
    // because the product's own config file (written 0600) is the one place it belongs.
    const variables = { 'admin.password': ctx.password('admin.password') };
    await ctx.renderContentResource('server.properties', `${home}/conf/server.properties`, { variables, owner, group, mode: 0o600 });
    ctx.log.info(`configured ${ctx.appliance.property('server.name')} on port ${ctx.appliance.property('port')}`);
  },
  // rehydration:end rehydrate

  // rehydration:begin start
  /** Starts minihttpd in the background as the file set's owner and waits (bounded) until its /health answers. */
  async start(ctx) {
    const { home, owner } = installation(ctx);
    if (runningPid(home) !== undefined) {
      ctx.log.info(`already running (pid ${runningPid(home)})`);
      return;
    }
    const log = `${home}/logs/minihttpd.out`;
    const { pid } = await ctx.run({ argv: [process.execPath, `${home}/bin/minihttpd.mjs`], user: owner, cwd: home, detached: { logFile: log } });
    const deadline = Date.now() + START_TIMEOUT_MS;
    // Only its own answer counts: another server may hold the port and answer /health too.
    const expected = `ok ${ctx.appliance.property('server.name')}`;
    for (;;) {
      if ((await health(ctx)) === expected) break;
      if (!isAlive(pid)) throw new Error(`minihttpd (pid ${pid}) exited while starting: ${lastLine(log)} (see ${log})`);
      if (Date.now() > deadline || ctx.signal.aborted) throw new Error(`minihttpd (pid ${pid}) did not answer ${healthUrl(ctx)} within ${START_TIMEOUT_MS / 1000} s; see ${log}`);
      await sleep(100);
    }
    ctx.log.info(`minihttpd started (pid ${pid})`);
  },
  // rehydration:end start

  // rehydration:begin stop
  /** Sends SIGTERM to the pid in run/minihttpd.pid and waits (bounded) until the process is gone. */
  async stop(ctx) {
    const { home } = installation(ctx);
    const pid = runningPid(home);
    if (pid === undefined) {
      ctx.log.info('not running');
      return;
    }
    // SDK 1.6: a plugin error naming it when it is still there after the limit; Ctrl-C ends the wait.
    await ctx.utils.stopProcess(pid, { name: 'minihttpd', timeoutMs: STOP_TIMEOUT_MS });
  },
  // rehydration:end stop

  // rehydration:begin ping
  /** Healthy when /health answers with this deployment's server name. */
  async ping(ctx) {
    const expected = `ok ${ctx.appliance.property('server.name')}`;
    const answer = await health(ctx);
    if (answer === undefined) return { healthy: false, message: `no answer from ${healthUrl(ctx)}` };
    if (answer !== expected) return { healthy: false, message: `${healthUrl(ctx)} answered "${answer}", expected "${expected}"` };
    return { healthy: true, message: `${healthUrl(ctx)} answered "${answer}"` };
  },
  // rehydration:end ping
};

// ---------------------------------------------------------------- helpers of the lifecycle methods

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

/** Where the product is on the instance: the root of its file set (the same path as on the reference host). */
function installation(ctx) {
  const fs = ctx.appliance.fileSets.find((f) => f.name === 'home');
  const home = fs?.root ?? ctx.appliance.property('product.home');
  if (!home) throw new Error('the appliance has neither a file set "home" nor a product.home property; was it made by this plugin?');
  return { home, owner: fs?.owner ?? 'root', group: fs?.group ?? 'root' };
}

function runningPid(home) {
  let text;
  try {
    text = readFileSync(`${home}/run/minihttpd.pid`, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** The last line a failed server wrote: with minihttpd, what went wrong (a port taken, a bad config). */
function lastLine(file) {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').pop() || 'no output';
  } catch {
    return 'no output';
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function healthUrl(ctx) {
  const bind = ctx.appliance.property('bind.address');
  const host = !bind || bind === '0.0.0.0' ? '127.0.0.1' : bind;
  return `http://${host}:${ctx.appliance.property('port')}/health`;
}

/** The body of /health, trimmed; undefined when nothing answers within 2 s. */
async function health(ctx) {
  try {
    const res = await fetch(healthUrl(ctx), { signal: AbortSignal.timeout(2000) });
    return (await res.text()).trim();
  } catch {
    return undefined;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// docs:begin locator
/** Tells the upgrade check where the product (and any newer plugin it ships) lives. */
const locator = {
  pluginOrExtensionName: NAME,
  productInstallHomes(parameters) {
    return typeof parameters.home === 'string' ? [parameters.home] : [];
  },
};
// docs:end locator

// docs:begin capture-check
/**
 * Capturing a running server could archive half-written files: refuse while it runs. The
 * appliance about to be captured (SDK 1.3) says where the product is, whatever the file set.
 */
const captureCheck = {
  pluginName: NAME,
  async validateCapture({ appliance, host }) {
    const pidFile = `${appliance.property('product.home')}/run/minihttpd.pid`;
    const text = await host.readTextIfExists(pidFile);
    if (text === undefined) return undefined;
    const pid = Number.parseInt(text, 10);
    // /proc/<pid> exists while the process runs; a stale pid file is no reason to refuse.
    if (Number.isInteger(pid) && pid > 0 && (await host.exists(`/proc/${pid}`))) {
      return `minihttpd is running (pid ${pid}); stop it before capturing its files`;
    }
    return undefined;
  },
};
// docs:end capture-check

// docs:begin base-requirements
/**
 * What minihttpd needs of a base image, or of a host it is deployed to directly. It runs on
 * Node.js 20, whose binary is linked against glibc (2.28 or later) and the C++ runtime.
 */
const baseRequirements = {
  pluginName: NAME,
  baseImageRequirements() {
    return [
      { kind: 'package', name: 'libc6', minVersion: '2.28', message: 'Node.js 20, which runs minihttpd, needs glibc 2.28 or later' },
      { kind: 'package', name: 'libstdc++6', message: 'the Node.js binary is linked against the C++ runtime' },
      { kind: 'kernelParameter', name: 'net.core.somaxconn', minimum: 128, severity: 'warning', message: 'a short accept queue drops connections under load' },
    ];
  },
  /** A check of our own: minihttpd is tested on Debian and Ubuntu only. */
  async validateBase(base) {
    const osRelease = await base.readFile('/etc/os-release');
    const id = osRelease && /^ID="?([^"\n]*)"?$/m.exec(Buffer.from(osRelease).toString('utf8'))?.[1];
    if (id === 'debian' || id === 'ubuntu') return [];
    return [{ severity: 'warning', message: `minihttpd is tested on Debian and Ubuntu; ${base.description} is ${id ? `"${id}"` : 'of unknown origin (no /etc/os-release)'}` }];
  },
};
// docs:end base-requirements

// docs:begin activator
export const activator = {
  /** @param {ServiceContext} context */
  start(context) {
    // abctl withdraws them when the plugin stops (SDK 1.5): no stop() to write.
    context.registerServices({ IntrospectorPlugin: plugin, IntrospectorPluginLocator: locator, PackagerValidationPlugin: captureCheck, BaseImageValidationPlugin: baseRequirements });
  },
};
// docs:end activator
