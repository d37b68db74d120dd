#!/usr/bin/env node
// minihttpd: the example product abctl's example plugin introspects. A static file server
// configured by conf/server.properties; /health answers "ok" so deployments can be pinged.
import { createReadStream, appendFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const home = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const conf = Object.fromEntries(
  readFileSync(join(home, 'conf', 'server.properties'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
);
const docroot = resolve(home, conf['docroot'] ?? 'htdocs');
const logDir = resolve(home, conf['log.dir'] ?? 'logs');
mkdirSync(logDir, { recursive: true });
const types = { '.html': 'text/html', '.css': 'text/css', '.txt': 'text/plain' };

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  appendFileSync(join(logDir, 'access.log'), `${new Date().toISOString()} ${req.method} ${url.pathname}\n`);
  if (url.pathname === '/health') {
    res.end(`ok ${conf['server.name'] ?? 'minihttpd'}\n`);
    return;
  }
  const file = normalize(join(docroot, url.pathname === '/' ? 'index.html' : url.pathname));
  if (!file.startsWith(docroot) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
    res.statusCode = 404;
    res.end('not found\n');
    return;
  }
  res.setHeader('content-type', types[extname(file)] ?? 'application/octet-stream');
  createReadStream(file).pipe(res);
});
// The pid file tells tools (abctl's capture check among them) that the server is running.
const pidFile = join(home, 'run', 'minihttpd.pid');
// One plain line instead of Node's stack trace: whoever starts it shows the last line of its output.
server.on('error', (err) => {
  const where = `${conf['bind.address'] ?? '127.0.0.1'}:${conf.port ?? 8080}`;
  process.stderr.write(`minihttpd: cannot listen on ${where}: ${err.code === 'EADDRINUSE' ? `port ${conf.port ?? 8080} is taken by another program` : err.message}\n`);
  process.exit(1);
});
server.listen(Number(conf.port ?? 8080), conf['bind.address'] ?? '127.0.0.1', () => {
  mkdirSync(dirname(pidFile), { recursive: true });
  writeFileSync(pidFile, `${process.pid}\n`);
  process.stdout.write(`minihttpd listening on ${conf['bind.address']}:${conf.port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    rmSync(pidFile, { force: true });
    server.close(() => process.exit(0));
  });
}
