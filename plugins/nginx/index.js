// The nginx plugin: introspects an nginx reverse proxy (Debian's layout, or a private prefix a
// running master names with -p/-c) and re-creates it with the plan's ports and the upstream
// servers of the instances it is connected to. See docs/products/nginx.md.
// Plain JavaScript using Node's built-in modules only: it also runs inside appliance bundles.

/** @typedef {import('../../core/plugin-contract.js').ServiceContext} ServiceContext */
/** @typedef {import('../../core/plugin-contract.js').DehydrateContext} DehydrateContext */
/** @typedef {import('../../core/lifecycle-contract.js').LifecycleContext} LifecycleContext */

import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { posix } from 'node:path';
import {
  applyEdits,
  describeConfig,
  indentOf,
  lineSpan,
  parseBuildInfo,
  readConfigTree,
  runtimePaths,
  variable,
} from './conf.js';

const NAME = 'nginx';
const DEBIAN_CONF = '/etc/nginx/nginx.conf';
const DEFAULT_BINARY = '/usr/sbin/nginx';
const START_TIMEOUT_MS = 15_000;
const QUIT_TIMEOUT_MS = 10_000;
const TERM_TIMEOUT_MS = 5_000;
const PROBE_TIMEOUT_MS = 3_000;

const userError = (code, message, hint) => Object.assign(new Error(message), { code, ...(hint ? { hint } : {}) });

// ---------------------------------------------------------------- reading the reference host

/** The reference host as conf.js reads files. */
function hostFs(host) {
  return {
    readText: (p) => host.readText(p),
    readdir: async (p) => (await host.readdir(p)).map((e) => ({ name: e.name, type: e.type })),
  };
}

/** What `<binary> -V` says (nginx prints it on stderr). */
async function buildInfo(run, binary) {
  const r = await run([binary, '-V']);
  if (r.exitCode !== 0) throw userError('NGINX_BINARY_UNUSABLE', `${binary} -V failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`, 'pass --binary with the nginx executable');
  return parseBuildInfo(`${r.stderr}\n${r.stdout}`);
}

/** `a b` of the argument after `flag` in a command line split on spaces. */
function flagValue(words, flag) {
  const i = words.indexOf(flag);
  return i !== -1 ? words[i + 1] : undefined;
}

/**
 * nginx installations on a host: every running master (its -p and -c, read from the process
 * title nginx keeps: `nginx: master process /usr/sbin/nginx -p DIR -c FILE`), and Debian's
 * /etc/nginx/nginx.conf. Each: `{ conf, prefix, binary, version, pid }`.
 */
export async function findInstallations(host) {
  const found = new Map();
  const builds = new Map();
  const build = async (binary) => {
    if (!builds.has(binary)) builds.set(binary, await buildInfo((argv) => host.run(argv, { timeoutMs: 10_000 }), binary).catch(() => undefined));
    return builds.get(binary);
  };
  // The job's one process list, shared with the other plugins (SDK 1.5); none when ps fails.
  for (const { pid, args } of await host.processes().catch(() => [])) {
    const m = /^nginx: master process\s+(.*)$/.exec(args);
    if (!m) continue;
    const words = m[1].trim().split(/\s+/);
    // The executable as the kernel knows it; the title's first word may be a bare name.
    const exe = (await host.lstat(`/proc/${pid}/exe`).catch(() => undefined))?.linkTarget;
    const binary = exe && exe.startsWith('/') ? exe.replace(/ \(deleted\)$/, '') : words[0].startsWith('/') ? words[0] : DEFAULT_BINARY;
    const b = await build(binary);
    if (!b) continue;
    const cwd = (await host.lstat(`/proc/${pid}/cwd`).catch(() => undefined))?.linkTarget ?? '/';
    const p = flagValue(words, '-p');
    const prefix = p ? posix.resolve(cwd, p) : b.prefix;
    const c = flagValue(words, '-c');
    const conf = posix.resolve(prefix, c ?? b.confPath);
    if (!found.has(conf)) found.set(conf, { conf, prefix: prefix.replace(/\/+$/, '') || '/', binary, version: b.version, pid });
  }
  if (!found.has(DEBIAN_CONF) && (await host.exists(DEBIAN_CONF)) && (await host.exists(DEFAULT_BINARY))) {
    const b = await build(DEFAULT_BINARY);
    if (b) found.set(DEBIAN_CONF, { conf: DEBIAN_CONF, prefix: b.prefix, binary: DEFAULT_BINARY, version: b.version, pid: undefined });
  }
  return [...found.values()];
}

/** The installation a job describes: its parameters, else the only one found. */
async function pickInstallation(ctx) {
  const binary = typeof ctx.parameters.binary === 'string' ? ctx.parameters.binary : undefined;
  const conf = typeof ctx.parameters.conf === 'string' ? ctx.parameters.conf : undefined;
  const prefix = typeof ctx.parameters.prefix === 'string' ? ctx.parameters.prefix : undefined;
  if (conf !== undefined) {
    if (prefix !== undefined && binary !== undefined) return { conf, prefix, binary };
    const running = (await findInstallations(ctx.host)).find((i) => i.conf === conf);
    return { conf, prefix: prefix ?? running?.prefix, binary: binary ?? running?.binary ?? DEFAULT_BINARY };
  }
  const all = await findInstallations(ctx.host);
  if (all.length === 1) return { conf: all[0].conf, prefix: prefix ?? all[0].prefix, binary: binary ?? all[0].binary };
  if (all.length === 0) {
    throw userError('NGINX_NOT_FOUND', `no nginx configuration found on ${ctx.host.describe()} (no running master, no ${DEBIAN_CONF})`, 'pass --conf with the nginx.conf to introspect (and --prefix when nginx runs with -p)');
  }
  throw userError(
    'NGINX_AMBIGUOUS',
    `${all.length} nginx configurations found on ${ctx.host.describe()}: ${all.map((i) => i.conf).join(', ')}`,
    `choose one with --conf (abctl discover lists them with their commands)`,
  );
}

/**
 * Libraries the binary loads (ldd), as Debian packages with the installed versions; [] when the
 * tools are missing. One command each for ldd, dpkg -S and dpkg-query: over SSH every command costs a round trip.
 */
async function libraryPackages(host, binary) {
  const ldd = await host.run(['ldd', binary], { timeoutMs: 10_000 });
  if (ldd.exitCode !== 0) return [];
  const libs = [...new Set([...ldd.stdout.matchAll(/=>\s+(\/\S+)/g)].map((m) => m[1]))];
  if (libs.length === 0) return [];
  // dpkg knows the path its package installed: /lib/... and /usr/lib/... are one file on merged-/usr systems.
  const both = libs.flatMap((l) => [l, l.startsWith('/usr/') ? l.slice(4) : `/usr${l}`]);
  const owners = await host.run(['dpkg', '-S', ...both], { timeoutMs: 20_000 });
  const byLib = new Map();
  for (const line of owners.stdout.split('\n')) {
    const m = /^([^:\s,]+)(?::[^:\s]+)?: (\/\S+)$/.exec(line.trim());
    if (m) byLib.set(m[2], m[1]);
  }
  const packages = [...new Set(libs.map((l) => byLib.get(l) ?? byLib.get(l.startsWith('/usr/') ? l.slice(4) : `/usr${l}`)).filter(Boolean))];
  if (packages.length === 0) return [];
  const versions = await host.run(['dpkg-query', '-W', '-f', '${Package} ${Version}\n', ...packages], { timeoutMs: 20_000 });
  return versions.stdout
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter((p) => p.length === 2)
    .map(([name, version]) => ({ name, version }));
}

/** Follows symbolic links of a path on the host (bounded), so a template is written where its text lives. */
async function realPath(host, path) {
  let current = path;
  for (let hops = 0; hops < 40; hops++) {
    const parts = current.split('/').filter(Boolean);
    let resolved = '';
    let changed = false;
    for (let i = 0; i < parts.length; i++) {
      const next = `${resolved}/${parts[i]}`;
      const st = await host.lstat(next);
      if (st?.type === 'symlink' && st.linkTarget !== undefined) {
        current = posix.resolve(resolved || '/', st.linkTarget, ...parts.slice(i + 1));
        changed = true;
        break;
      }
      resolved = next;
    }
    if (!changed) return resolved || '/';
  }
  return path;
}

const inside = (path, root) => path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
const relative = (path, root) => (path === root ? '' : path.slice(root.length + (root.endsWith('/') ? 0 : 1)));

/** Output and property names allow a limited set of characters (docs/plugin-contract.md). */
const safeName = (s) => s.replace(/[^A-Za-z0-9!#%()*+,\-.:=?@[\]^_{}~]/g, '-');

/** Content resource names allow letters, digits and `- . _ ~`: the path's `/` become `~`. */
const resourceName = (rel) => rel.replace(/\//g, '~').replace(/[^A-Za-z0-9\-._~]/g, '_');

/** An upstream `server` directive's address and parameters, as one entry of the servers list. */
const serverEntry = (d) => d.args.map((a) => a.text).join(' ');

// ---------------------------------------------------------------- the introspector

const plugin = {
  name: NAME,
  allowExtensionsToCreateAppliances: false,

  jobParameters() {
    return [
      { name: 'conf', type: 'path', description: 'the nginx.conf to introspect (default: the only one found: a running master\'s, else /etc/nginx/nginx.conf)' },
      { name: 'prefix', type: 'path', description: 'nginx\'s prefix (-p) that relative paths of the configuration start from (default: the running master\'s, else the one nginx was built with)' },
      { name: 'binary', type: 'path', description: `the nginx executable (default: the running master's, else ${DEFAULT_BINARY})` },
    ];
  },

  /** @param {DehydrateContext} ctx */
  async dehydrate(ctx) {
    const host = ctx.host;
    ctx.progress(5, 'finding nginx');
    const chosen = await pickInstallation(ctx);
    if (!(await host.exists(chosen.binary))) throw userError('NGINX_BINARY_MISSING', `${chosen.binary} not found on ${host.describe()}`, 'pass --binary with the nginx executable');
    const build = await buildInfo((argv) => host.run(argv, { timeoutMs: 10_000 }), chosen.binary);
    const prefix = (chosen.prefix ?? build.prefix).replace(/\/+$/, '') || '/';
    const conf = posix.resolve(prefix, chosen.conf);
    if (!(await host.exists(conf))) throw userError('NGINX_CONF_MISSING', `${conf} not found on ${host.describe()}`, 'pass --conf with the nginx.conf nginx runs with');
    const confDir = posix.dirname(conf);

    ctx.progress(15, 'reading the configuration');
    const tree = await readConfigTree(hostFs(host), conf);
    const desc = describeConfig(tree);
    const paths = runtimePaths(desc, build, prefix);

    // Inputs: one per distinct listen port, in document order.
    const inputs = new Map();
    for (const l of desc.listens) {
      if (inputs.has(l.port)) continue;
      const name = inputs.size === 0 ? 'http' : `http-${inputs.size + 1}`;
      const protocol = l.context === 'stream' ? 'tcp' : l.ssl ? 'https' : 'http';
      inputs.set(l.port, { name, port: l.port, portProperty: `listen.${name}.port`, protocols: [protocol], description: `${l.context} listen ${l.address ? `${l.address}:` : ''}${l.port} (${l.directive.file}:${l.directive.line})` });
    }
    const properties = [];
    for (const i of inputs.values()) {
      properties.push({ name: i.portProperty, type: 'int', category: 'user', required: true, value: String(i.port), description: `port of input ${i.name}: every listen on ${i.port}` });
    }

    // Templates: the spans to replace in each file.
    const edits = new Map();
    const edit = (d, e) => {
      if (!edits.has(d.file)) edits.set(d.file, []);
      edits.get(d.file).push(e);
    };
    // One address property per port when its IPv4/host-name listens agree (IPv6 ones keep theirs):
    // a reference bound to 127.0.0.1 can then be opened up where it is deployed (`*` in a container).
    const v4 = (l) => !l.address?.startsWith('[');
    for (const i of inputs.values()) {
      const addresses = new Set(desc.listens.filter((l) => l.port === i.port && v4(l)).map((l) => l.address ?? '*'));
      if (addresses.size !== 1) continue;
      i.addressProperty = `listen.${i.name}.address`;
      properties.push({ name: i.addressProperty, type: 'string', category: 'user', required: true, value: [...addresses][0], description: `address the IPv4 listens on port ${i.port} bind (* for all)` });
    }
    for (const l of desc.listens) {
      const arg = l.directive.args[0];
      const input = inputs.get(l.port);
      const address = input.addressProperty && v4(l) ? `${variable(input.addressProperty)}:` : l.address === undefined ? '' : `${l.address}:`;
      edit(l.directive, { start: arg.start, end: arg.end, text: `${address}${variable(input.portProperty)}` });
    }
    let serverIndex = 0;
    for (const s of desc.servers) {
      if (!s.serverNames) continue;
      const name = `server.${++serverIndex}.names`;
      const args = s.serverNames.args;
      properties.push({ name, type: 'string', category: 'user', value: args.map((a) => a.text).join(' '), description: `server_name of server ${serverIndex} (${s.serverNames.file}:${s.serverNames.line})` });
      edit(s.serverNames, { start: args[0].start, end: args[args.length - 1].end, text: variable(name) });
    }
    const outputs = [];
    for (const u of desc.upstreams) {
      const name = safeName(u.name);
      if (outputs.some((o) => o.name === name)) throw userError('NGINX_UPSTREAM_DUPLICATE', `two upstream blocks are named ${u.name} (${u.directive.file}:${u.directive.line})`, 'nginx -t rejects this configuration too');
      const servers = u.servers.map(serverEntry);
      const first = u.servers[0] ? /^(.*):(\d+)$/.exec(u.servers[0].args[0].text) : undefined;
      const property = `upstream.${name}.servers`;
      outputs.push({
        name,
        protocol: u.context === 'stream' ? 'tcp' : 'http',
        description: `upstream ${u.name} (${u.directive.file}:${u.directive.line})`,
        properties: [
          { name: 'servers', type: 'string', category: 'system', value: servers.join(',') || undefined, description: 'the servers the reference configuration lists' },
          ...(first ? [{ name: 'host', type: 'string', category: 'system', value: first[1] }, { name: 'port', type: 'int', category: 'system', value: first[2] }] : []),
        ],
      });
      properties.push({ name: property, type: 'string', category: 'user', value: servers.join(',') || undefined, description: `servers of upstream ${u.name} when output ${name} is not connected (comma-separated, each "address[:port] [parameters]")` });
      if (u.servers.length > 0) {
        const [head, ...rest] = u.servers;
        edit(head, { start: head.start, end: head.end, text: variable(property) });
        const src = tree.files.get(head.file).text;
        for (const d of rest) edit(d, { ...lineSpan(src, d), text: '' });
      }
    }

    ctx.progress(30, 'describing the file sets');
    const fileSets = [];
    const roots = () => fileSets.map((f) => f.root);
    const excludesFor = (root) => {
      const out = [];
      for (const p of [paths.pid, ...paths.logs]) if (inside(p, root) && p !== root) out.push(relative(p, root));
      for (const d of paths.tempDirs) if (inside(d, root) && d !== root) out.push(`${relative(d, root)}/*`);
      return out;
    };
    const binDir = posix.dirname(chosen.binary);
    // A file set's root is a directory: the binary's directory minus everything but the binary.
    fileSets.push({ name: 'binary', root: binDir, excludes: [`!(${posix.basename(chosen.binary)})`], description: `the nginx executable ${chosen.binary}` });
    const modules = posix.resolve(prefix, build.modulesPath);
    if ((await host.stat(modules))?.type === 'directory' && !roots().some((r) => inside(modules, r) || inside(r, modules))) {
      fileSets.push({ name: 'modules', root: modules, excludes: [] });
    }
    if (!inside(confDir, prefix) && !inside(prefix, confDir) && (await host.stat(prefix))?.type === 'directory' && !roots().some((r) => inside(prefix, r) || inside(r, prefix))) {
      fileSets.push({ name: 'prefix', root: prefix, excludes: excludesFor(prefix) });
    }
    if (roots().some((r) => inside(confDir, r) || inside(r, confDir))) {
      throw userError('NGINX_LAYOUT_UNSUPPORTED', `the configuration directory ${confDir} overlaps another file set (${roots().join(', ')})`, 'keep nginx.conf in a directory of its own (as /etc/nginx)');
    }
    fileSets.push({ name: 'conf', root: confDir, excludes: excludesFor(confDir) });
    let webIndex = 0;
    for (const r of desc.roots) {
      if (r.includes('$')) continue;
      const abs = posix.resolve(prefix, r);
      if ((await host.stat(abs))?.type !== 'directory' || roots().some((x) => inside(abs, x) || inside(x, abs))) continue;
      fileSets.push({ name: webIndex++ === 0 ? 'webroot' : `webroot-${webIndex}`, root: abs, excludes: [] });
    }

    ctx.progress(50, 'turning the configuration into templates');
    const templates = {};
    const files = {};
    const contents = [];
    const names = new Set();
    const claim = (base) => {
      let n = base;
      for (let k = 2; names.has(n); k++) n = `${base}-${k}`;
      names.add(n);
      return n;
    };
    for (const [file, { text }] of tree.files) {
      const fileEdits = edits.get(file);
      const inTree = roots().some((r) => inside(file, r));
      if (!fileEdits && inTree) continue;
      // Written where the text lives: a sites-enabled/ link keeps pointing at it.
      const dest = await realPath(host, file);
      const rel = inside(dest, confDir) ? relative(dest, confDir) : dest;
      const name = claim(resourceName(rel.replace(/^\//, '')));
      if (fileEdits) templates[name] = rel;
      else files[name] = rel;
      contents.push({ name, content: fileEdits ? applyEdits(text, fileEdits) : text, template: Boolean(fileEdits), description: `${dest}${fileEdits ? ' as a template' : ''}` });
    }

    ctx.progress(60, 'finding the libraries nginx needs');
    const libraries = await libraryPackages(host, chosen.binary);
    const unknown = libraries.filter((l) => !BASE_PACKAGES.some((p) => p.name === l.name));
    if (unknown.length > 0) ctx.log.warn(`${chosen.binary} needs packages this plugin does not declare for base images: ${unknown.map((l) => l.name).join(', ')}`);

    const appliance = ctx.createAppliance({
      name: 'nginx',
      description: `nginx ${build.version ?? ''} from ${conf}`.replace(/ {2}/g, ' '),
      resources: { memoryMiB: 128, cpus: 1 },
      properties: [
        ...properties,
        { name: 'product.version', type: 'string', category: 'system', value: build.version ?? 'unknown', description: 'nginx version (nginx -v)' },
        { name: 'nginx.binary', type: 'string', category: 'system', value: chosen.binary, description: 'the nginx executable' },
        { name: 'nginx.prefix', type: 'string', category: 'system', value: prefix, description: 'prefix (-p) relative paths start from' },
        { name: 'nginx.conf', type: 'string', category: 'system', value: conf, description: 'the main configuration file (-c)' },
        { name: 'nginx.files', type: 'string', category: 'system', value: JSON.stringify({ templates, files }), description: 'content resources and where rehydrate writes them (relative to the configuration directory, or absolute)' },
        { name: 'nginx.libraries', type: 'string', category: 'system', value: libraries.map((l) => `${l.name} ${l.version}`).join(', ') || undefined, description: 'Debian packages of the libraries the binary loads (ldd), with the reference host\'s versions' },
      ],
      inputs: [...inputs.values()].map(({ addressProperty, ...input }) => input),
      outputs,
      fileSets,
    });
    for (const c of contents) ctx.addContentResource(appliance, c);
    ctx.progress(100, 'done');
  },

  /** Running masters and Debian's configuration, each with the --conf/--prefix that introspects it. */
  async discover(ctx) {
    return (await findInstallations(ctx.host)).map((i) => ({
      description: `nginx ${i.version ?? ''} ${i.conf}${i.pid ? ` (running, pid ${i.pid}, prefix ${i.prefix})` : ''}`.replace(/ {2}/g, ' '),
      parameters: { conf: i.conf, prefix: i.prefix, binary: i.binary },
    }));
  },

  // ---------------------------------------------------------------- on the instance

  /**
   * Writes the configuration with this deployment's ports, names and upstream servers, checks
   * it with `nginx -t`, and puts the previous files back when nginx rejects it. A running
   * nginx is told to reload (bindings change when a connected appliance is scaled).
   * @param {LifecycleContext} ctx
   */
  async rehydrate(ctx) {
    const inst = installation(ctx);
    const { templates, files } = JSON.parse(ctx.appliance.property('nginx.files') ?? '{"templates":{},"files":{}}');
    const variables = {};
    for (const o of ctx.appliance.outputs) variables[`upstream.${o.name}.servers`] = upstreamServers(ctx, o);

    const written = [...Object.entries(templates), ...Object.entries(files)].map(([name, rel]) => ({ name, dest: inst.path(rel), template: name in templates }));
    const before = new Map();
    for (const w of written) before.set(w.dest, await readFile(w.dest).catch(() => undefined));
    for (const w of written) {
      const mode = 0o644;
      if (w.template) {
        // Indent every server line like the first one in the reference file.
        await ctx.renderContentResource(w.name, w.dest, { variables: await indented(ctx, w.name, variables), owner: 'root', group: 'root', mode });
      } else {
        await mkdir(posix.dirname(w.dest), { recursive: true });
        await ctx.copyFile(`contentresource:${w.name}`, w.dest, { owner: 'root', group: 'root', mode });
      }
    }

    const runtime = await runtimeOf(inst);
    await prepareRuntime(ctx, inst, runtime);
    const test = await ctx.run({ argv: [inst.binary, '-t', '-q', '-p', inst.prefix, '-c', inst.conf], timeoutMs: 30_000 });
    if (test.exitCode !== 0) {
      for (const [dest, bytes] of before) {
        if (bytes === undefined) await rm(dest, { force: true });
        else await writeFile(dest, bytes);
      }
      throw userError('NGINX_CONFIG_REJECTED', `nginx -t rejected the rehydrated configuration (the previous files were put back): ${(test.stderr || test.stdout).trim()}`, 'check the plan\'s listen ports and upstream servers');
    }
    const pid = await runningPid(runtime.pid);
    if (pid !== undefined) {
      process.kill(pid, 'SIGHUP');
      ctx.log.info(`nginx (pid ${pid}) reloads the new configuration`);
    }
    ctx.log.info(`configured nginx: ${describeListens(ctx)}; ${ctx.appliance.outputs.map((o) => `upstream ${o.name}: ${variables[`upstream.${o.name}.servers`].split('\n').length} server(s)`).join(', ') || 'no upstreams'}`);
  },

  /**
   * Starts the master (as root; the workers switch to the `user` directive's account) in the
   * background and waits, bounded, until every listen port accepts connections.
   * @param {LifecycleContext} ctx
   */
  async start(ctx) {
    const inst = installation(ctx);
    const runtime = await runtimeOf(inst);
    const already = await runningPid(runtime.pid);
    if (already !== undefined) {
      ctx.log.info(`already running (pid ${already})`);
      return;
    }
    await prepareRuntime(ctx, inst, runtime);
    const logFile = `${posix.dirname(runtime.logs[0] ?? runtime.pid)}/nginx-abctl.out`;
    const argv = [inst.binary, '-p', inst.prefix, '-c', inst.conf];
    let pid;
    if (runtime.daemon !== 'on') {
      // In the foreground under the detached runner, so the pid is the master's from the start
      // (-g may not repeat a directive the configuration has).
      ({ pid } = await ctx.run({ argv: runtime.daemon === undefined ? [...argv, '-g', 'daemon off;'] : argv, detached: { logFile } }));
    } else {
      const r = await ctx.run({ argv, timeoutMs: 30_000 });
      if (r.exitCode !== 0) throw userError('NGINX_START_FAILED', `nginx did not start (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`);
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      pid ??= await runningPid(runtime.pid);
      const down = pid !== undefined && isAlive(pid) ? await closedPorts(runtime.listens) : undefined;
      if (down !== undefined && down.length === 0) break;
      if (pid !== undefined && !isAlive(pid)) throw userError('NGINX_START_FAILED', `nginx (pid ${pid}) exited while starting: ${await tail(logFile)}`, `see ${logFile} and the error log`);
      if (Date.now() > deadline || ctx.signal.aborted) {
        throw userError('NGINX_START_FAILED', `nginx${pid ? ` (pid ${pid})` : ''} did not listen on ${(down ?? runtime.listens).map((l) => l.port).join(', ')} within ${START_TIMEOUT_MS / 1000} s`, `see ${logFile} and the error log`);
      }
      await sleep(100);
    }
    ctx.log.info(`nginx started (pid ${pid}): ${describeListens(ctx)}`);
  },

  /** `nginx -s quit` (finish the requests under way), bounded; then SIGTERM, bounded. */
  async stop(ctx) {
    const inst = installation(ctx);
    const runtime = await runtimeOf(inst);
    const pid = await runningPid(runtime.pid);
    if (pid === undefined) {
      ctx.log.info('not running');
      return;
    }
    const quit = await ctx.run({ argv: [inst.binary, '-p', inst.prefix, '-c', inst.conf, '-s', 'quit'], timeoutMs: 10_000 });
    if (quit.exitCode !== 0) process.kill(pid, 'SIGQUIT');
    if (await ctx.utils.waitForExit(pid, QUIT_TIMEOUT_MS)) return;
    ctx.log.warn(`nginx (pid ${pid}) did not quit within ${QUIT_TIMEOUT_MS / 1000} s; sending SIGTERM`);
    process.kill(pid, 'SIGTERM');
    if (await ctx.utils.waitForExit(pid, TERM_TIMEOUT_MS)) return;
    throw userError('NGINX_STOP_FAILED', `nginx (pid ${pid}) did not stop within ${(QUIT_TIMEOUT_MS + TERM_TIMEOUT_MS) / 1000} s`, `kill -KILL ${pid}`);
  },

  /**
   * An HTTP request on each listen port: any status counts as up, since what a location answers
   * (404, 502 while a backend starts) is the site's business, not nginx's health.
   */
  async ping(ctx) {
    const inst = installation(ctx);
    const runtime = await runtimeOf(inst);
    const pid = await runningPid(runtime.pid);
    if (pid === undefined) return { healthy: false, message: 'nginx is not running (no live pid in its pid file)' };
    const results = await Promise.all(runtime.listens.map(probe));
    const bad = results.filter((r) => !r.ok);
    const text = results.map((r) => `${r.listen.port}: ${r.detail}`).join(', ');
    return bad.length === 0 ? { healthy: true, message: `nginx (pid ${pid}) answers on ${text}` } : { healthy: false, message: `nginx (pid ${pid}): ${text}` };
  },
};

// ---------------------------------------------------------------- helpers of the lifecycle methods

/**
 * Paths on the instance. A file set lands at its reference path, so they are the reference
 * paths; the test kit puts file sets under a temporary root, and the offset found from the
 * conf file set's root follows it.
 */
function installation(ctx) {
  const conf = ctx.appliance.property('nginx.conf');
  const confSet = ctx.appliance.fileSets.find((f) => f.name === 'conf');
  if (!conf || !confSet) throw userError('NGINX_APPLIANCE_INVALID', 'the appliance has no nginx.conf property or no "conf" file set; was it made by the nginx plugin?');
  const refDir = posix.dirname(conf);
  const offset = confSet.root.endsWith(refDir) ? confSet.root.slice(0, confSet.root.length - refDir.length).replace(/\/+$/, '') : '';
  const at = (p) => `${offset}${p}`;
  return {
    offset,
    binary: at(ctx.appliance.property('nginx.binary') ?? DEFAULT_BINARY),
    prefix: at(ctx.appliance.property('nginx.prefix') ?? '/'),
    conf: at(conf),
    referencePrefix: ctx.appliance.property('nginx.prefix') ?? '/',
    referenceConf: conf,
    /** A path of nginx.files: relative to the configuration directory, or absolute. */
    path: (p) => at(p.startsWith('/') ? p : `${refDir}/${p}`),
    at,
  };
}

/** What the rendered configuration on the instance says: pid file, logs, temp dirs, worker user, listens. */
async function runtimeOf(inst) {
  const fs = {
    readText: (p) => readFile(inst.at(p), 'utf8'),
    readdir: async (p) => (await readdir(inst.at(p), { withFileTypes: true })).map((e) => ({ name: e.name, type: e.isDirectory() ? 'directory' : 'file' })),
  };
  const tree = await readConfigTree(fs, inst.referenceConf);
  const desc = describeConfig(tree);
  const build = parseBuildInfo(await versionText(inst.binary));
  const paths = runtimePaths(desc, build, inst.referencePrefix);
  const byPort = new Map();
  for (const l of desc.listens) {
    const seen = byPort.get(l.port);
    // Probe each port once, preferring an IPv4 listen (Debian's default site listens on both families).
    if (!seen || (seen.address?.startsWith('[') && !l.address?.startsWith('['))) byPort.set(l.port, l);
  }
  return { ...paths, pid: inst.at(paths.pid), logs: paths.logs.map(inst.at), tempDirs: paths.tempDirs.map(inst.at), daemon: desc.daemon, listens: [...byPort.values()] };
}

async function versionText(binary) {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(binary, ['-V'], { timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(userError('NGINX_BINARY_UNUSABLE', `${binary} -V failed: ${err.message}`, 'was the "binary" file set extracted?')) : resolve(`${stderr}\n${stdout}`)));
  });
}

/** Directories nginx writes to and does not make itself: the pid file's, the logs', the temp dirs (the workers' user owns those). */
async function prepareRuntime(ctx, inst, runtime) {
  for (const p of [runtime.pid, ...runtime.logs]) await mkdir(posix.dirname(p), { recursive: true });
  for (const d of runtime.tempDirs) {
    await mkdir(d, { recursive: true });
    if (process.getuid?.() === 0) await ctx.setOwnership(d, { owner: runtime.user });
  }
}

/**
 * The server lines of one upstream: every instance of every connected peer (so scaling the
 * peer changes the list), else the servers of the `upstream.<name>.servers` property (the
 * reference's, unless the plan changed them).
 */
function upstreamServers(ctx, output) {
  const entries = [];
  for (const peer of output.peers) {
    const hosts = peer.addresses.length > 0 ? peer.addresses : peer.hostNames;
    for (const h of hosts) {
      const host = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
      entries.push(peer.port === undefined ? host : `${host}:${peer.port}`);
    }
  }
  if (output.peers.length > 0 && entries.length === 0) {
    ctx.log.warn(`output ${output.name} is connected, but its peers have no instances: upstream ${output.name} gets a server marked down`);
    entries.push('127.0.0.1:9 down');
  }
  if (entries.length === 0) {
    const own = ctx.appliance.property(`upstream.${output.name}.servers`);
    entries.push(...(own ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  }
  if (entries.length === 0) throw userError('NGINX_UPSTREAM_EMPTY', `upstream ${output.name} has no servers: output ${output.name} is not connected and upstream.${output.name}.servers is empty`, `connect output ${output.name}, or set upstream.${output.name}.servers in the plan`);
  return [...new Set(entries)].map((e) => `server ${e};`).join('\n');
}

/** The upstream variables with the template's indentation after each line break. */
async function indented(ctx, name, variables) {
  const text = Buffer.from(await ctx.contentResource(name)).toString('utf8');
  const out = {};
  for (const [k, v] of Object.entries(variables)) {
    const at = text.indexOf(variable(k));
    const indent = at === -1 ? '' : /^[ \t]*/.exec(text.slice(text.lastIndexOf('\n', at) + 1, at))[0];
    out[k] = v.split('\n').join(`\n${indent}`);
  }
  return out;
}

function describeListens(ctx) {
  return ctx.appliance.inputs.map((i) => `${i.name} on ${i.port}`).join(', ') || 'no listen ports';
}

async function runningPid(pidFile) {
  const text = await readFile(pidFile, 'utf8').catch(() => undefined);
  const pid = text === undefined ? NaN : Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Where to reach a listen from this machine: a wildcard means the loopback address of its family. */
function probeHost(listen) {
  const a = listen.address;
  if (a === undefined || a === '*' || a === '0.0.0.0') return '127.0.0.1';
  if (a === '[::]') return '::1';
  return a.replace(/^\[|\]$/g, '');
}

/** Listens that do not accept a TCP connection yet. */
async function closedPorts(listens) {
  const open = await Promise.all(listens.map((l) => tcpOpen(probeHost(l), l.port)));
  return listens.filter((_, i) => !open[i]);
}

function tcpOpen(host, port) {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: PROBE_TIMEOUT_MS });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('timeout', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
  });
}

/** One listen's answer: an HTTP(S) status, or for a stream listen an accepted connection. */
async function probe(listen) {
  const host = probeHost(listen);
  if (listen.context === 'stream') {
    const ok = await tcpOpen(host, listen.port);
    return { listen, ok, detail: ok ? 'accepts connections' : 'refused' };
  }
  const request = listen.ssl ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    // Self-signed certificates are common on a proxy's own port; health is about answering, not trust.
    const req = request({ host, port: listen.port, path: '/', method: 'GET', timeout: PROBE_TIMEOUT_MS, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve({ listen, ok: true, detail: `HTTP ${res.statusCode}` });
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${PROBE_TIMEOUT_MS / 1000} s`)));
    req.once('error', (err) => resolve({ listen, ok: false, detail: err.message }));
    req.end();
  });
}

async function tail(file) {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-5).join(' | ') || '(no output)';
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- the other services

const locator = {
  pluginOrExtensionName: NAME,
  productInstallHomes(parameters) {
    return typeof parameters.prefix === 'string' ? [parameters.prefix] : [];
  },
};

/**
 * nginx never writes its configuration, binary or web roots while it runs; what it does write
 * (pid file, logs, temp files) is left out of the file sets. So a capture is consistent
 * whether nginx runs or not, and this check lets every capture go on.
 */
const captureCheck = {
  pluginName: NAME,
  validateCapture() {
    return undefined;
  },
};

/**
 * The shared libraries Debian 12's nginx 1.22 links (what ldd lists, as the packages holding
 * them; the minimum versions are those the nginx package itself depends on), and the account
 * its workers run as. Dehydration records what ldd finds on the reference host in the
 * nginx.libraries property and warns when a library's package is missing here.
 */
const BASE_PACKAGES = [
  { name: 'libc6', minVersion: '2.34' },
  { name: 'libcrypt1', minVersion: '1:4.1.0' },
  { name: 'libpcre2-8-0', minVersion: '10.22' },
  { name: 'libssl3', minVersion: '3.0.0' },
  { name: 'zlib1g', minVersion: '1:1.1.4' },
];

const baseRequirements = {
  pluginName: NAME,
  baseImageRequirements() {
    return [
      ...BASE_PACKAGES.map((p) => ({ kind: 'package', ...p, message: `/usr/sbin/nginx is linked against a library of ${p.name}` })),
      { kind: 'user', name: 'www-data', message: 'nginx\'s workers run as www-data (the user directive of Debian\'s configuration)' },
      { kind: 'group', name: 'www-data', message: 'the group of nginx\'s workers' },
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
