// Private nginx instances and tiny HTTP backends for tests (the nginx plugin's, and the
// end-to-end stack's). Every nginx runs from its own prefix in a temp directory, on ports the
// caller picks, with pid, logs and temp files under that prefix; nothing in /etc/nginx is used.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

export { freePort } from './sshd.mjs';

export const NGINX = '/usr/sbin/nginx';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Writes a private nginx layout into `dir`: `nginx.conf` (pid, logs and temp paths relative to
 * the prefix), `conf.d/site.conf` with one upstream per entry of `upstreams` and a proxy server
 * per upstream (on `ports[i]`), plus a static server on the last port when there is one more
 * port than upstreams, whose root is `html/`.
 */
export async function writeNginxPrefix(dir, { ports, upstreams, user = 'www-data', address = '127.0.0.1' }) {
  for (const d of ['conf.d', 'logs', 'temp', 'html']) await mkdir(join(dir, d), { recursive: true });
  // The workers (another user) read html/ and write temp/: a temp dir is 0700 by default.
  await chmod(dir, 0o755);
  await writeFile(
    join(dir, 'nginx.conf'),
    [
      `user ${user};`,
      'worker_processes 1;',
      'pid logs/nginx.pid;',
      'error_log logs/error.log;',
      '',
      'events {',
      '\tworker_connections 64;',
      '}',
      '',
      'http {',
      '\taccess_log logs/access.log;',
      '\tclient_body_temp_path temp/body;',
      '\tproxy_temp_path temp/proxy;',
      '\tfastcgi_temp_path temp/fastcgi;',
      '\tuwsgi_temp_path temp/uwsgi;',
      '\tscgi_temp_path temp/scgi;',
      '\tinclude conf.d/*.conf;',
      '}',
      '',
    ].join('\n'),
  );
  const names = Object.keys(upstreams);
  const site = [];
  names.forEach((name, i) => {
    site.push(`upstream ${name} {`, ...upstreams[name].map((s) => `    server ${s};`), '}', '');
    site.push('server {', `    listen ${address}:${ports[i]};`, `    server_name ${name}.example;`, '    location / {', `        proxy_pass http://${name};`, '    }', '}', '');
  });
  if (ports.length > names.length) {
    site.push('server {', `    listen ${address}:${ports[names.length]};`, '    server_name static.example;', '    root html;', '}', '');
  }
  await writeFile(join(dir, 'conf.d', 'site.conf'), site.join('\n'));
  await writeFile(join(dir, 'html', 'index.html'), 'static page\n');
  return { dir, conf: join(dir, 'nginx.conf') };
}

async function listening(port, host) {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts nginx as a test would run a reference installation: `nginx -p DIR -c DIR/nginx.conf
 * -g 'daemon off;'`, waits (10 s at most) until `ports` listen. stop() quits it and waits.
 */
export async function startNginx({ dir, ports, address = '127.0.0.1' }) {
  const conf = join(dir, 'nginx.conf');
  const child = spawn(NGINX, ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await Promise.all(ports.map((p) => listening(p, address)));
    if (up.every(Boolean)) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx in ${dir} did not listen on ${ports.join(', ')}: ${stderr}`);
    }
    await sleep(50);
  }
  return {
    pid: child.pid,
    dir,
    conf,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGQUIT');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Stops the nginx whose pid file is `pidFile` (one a plugin started), if it runs; bounded. */
export async function stopNginxByPidFile(pidFile) {
  const text = await readFile(pidFile, 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || !alive(pid)) return;
  process.kill(pid, 'SIGQUIT');
  const deadline = Date.now() + 5_000;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/** A tiny HTTP backend answering every request with `backend <name>`; `hits` counts requests. */
export async function startBackend({ name, port = 0, host = '127.0.0.1' }) {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`backend ${name}\n`);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    name,
    host,
    port: server.address().port,
    hits: () => hits,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** GET http://host:port/path: `{ status, body }`; rejects when nothing answers within 5 s. */
export function httpGet(port, { host = '127.0.0.1', path = '/' } = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, timeout: 5_000, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.once('timeout', () => req.destroy(new Error(`no answer from ${host}:${port} within 5 s`)));
    req.once('error', reject);
    req.end();
  });
}

/**
 * `sha256  path` of every regular file and `link -> target` of every symlink under `dir`,
 * sorted, leaving out paths for which `skip(rel)` is true (logs an nginx writes while it runs).
 */
export async function checksumListing(dir, skip = () => false) {
  const lines = [];
  const walk = async (d) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      if (skip(rel)) continue;
      if (e.isDirectory()) await walk(p);
      else if (e.isSymbolicLink()) lines.push(`link ${rel} -> ${await readlink(p)}`);
      else if (e.isFile()) lines.push(`${createHash('sha256').update(await readFile(p)).digest('hex')}  ${rel}`);
    }
  };
  await walk(dir);
  return lines.sort().join('\n');
}

/** A temp directory for a test; remove() deletes it. */
export async function tempPrefix(name = 'abctl-nginx-') {
  const dir = await mkdtemp(join(tmpdir(), name));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
