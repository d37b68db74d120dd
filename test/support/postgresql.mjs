/**
 * A private PostgreSQL cluster for tests: initdb in a temp dir (owned by the postgres account,
 * which the server insists on), started with pg_ctl on a free loopback port, its unix socket in
 * the same temp dir. Nothing shared with Debian's own cluster or with other tests.
 * Plain JavaScript (types in postgresql.d.mts) so that other tests and benchmarks can use it.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './sshd.mjs';

const run = promisify(execFile);

export const PG_VERSION = '15';
export const PG_BIN = `/usr/lib/postgresql/${PG_VERSION}/bin`;

/** uid and gid of the postgres account (the Debian package creates it). */
export async function postgresAccount() {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

/** Runs a PostgreSQL program as postgres; resolves to stdout, rejects with stderr on failure. */
export async function asPostgres(argv, { input, env, timeoutMs = 60_000 } = {}) {
  const { uid, gid } = await postgresAccount();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { uid, gid, env: { PATH: process.env.PATH, LANG: 'C.UTF-8', HOME: tmpdir(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${argv.join(' ')} exited ${code}: ${err.trim()}`));
    });
    // A program that exits without reading its stdin (psql -c) must not fail the test with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/**
 * initdb a cluster in a new temp dir (its data directory is `<dir>/data`): superuser `postgres`
 * with `password`, trust on the unix socket, scram-sha-256 over TCP from loopback; then starts it
 * unless `start: false`. `layout: 'debian'` moves postgresql.conf, pg_hba.conf and pg_ident.conf
 * into `<dir>/etc/main` (with data_directory, hba_file, ident_file and an include_dir `conf.d`),
 * as Debian keeps them in /etc/postgresql/<version>/<name>; `extraConf` is appended to postgresql.conf.
 */
export async function startCluster({ password = 'reference-secret', start = true, layout = 'initdb', extraConf = '' } = {}) {
  if (!existsSync(`${PG_BIN}/initdb`)) throw new Error(`${PG_BIN}/initdb not found: apt-get install -y --no-install-recommends postgresql (listed in .ci/apt-packages)`);
  const { uid, gid } = await postgresAccount();
  const dir = await mkdtemp(join(tmpdir(), 'abctl-pg-ref-'));
  await chmod(dir, 0o755);
  await chown(dir, uid, gid);
  const dataDir = join(dir, 'data');
  const pwfile = join(dir, 'pwfile');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  await chown(pwfile, uid, gid);
  await asPostgres([`${PG_BIN}/initdb`, '-D', dataDir, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8']);
  await rm(pwfile);
  const port = await freePort();
  // Debian's layout: the configuration in a directory of its own that names the data directory.
  const configDir = layout === 'debian' ? join(dir, 'etc', 'main') : dataDir;
  if (layout === 'debian') {
    await mkdir(join(configDir, 'conf.d'), { recursive: true });
    for (const f of ['postgresql.conf', 'pg_hba.conf', 'pg_ident.conf']) await rename(join(dataDir, f), join(configDir, f));
    await chownTree(join(dir, 'etc'), uid, gid);
  }
  // The cluster's own settings, as a user would have them: a port, loopback only, its socket here.
  const conf = join(configDir, 'postgresql.conf');
  const paths = layout === 'debian' ? `data_directory = '${dataDir}'\nhba_file = '${configDir}/pg_hba.conf'\nident_file = '${configDir}/pg_ident.conf'\ninclude_dir = 'conf.d'\n` : '';
  await writeFile(conf, `${paths}${await readFile(conf, 'utf8')}\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\n${extraConf}`);
  const cluster = {
    dir,
    dataDir,
    configDir,
    port,
    bin: PG_BIN,
    async start() {
      await asPostgres([`${PG_BIN}/pg_ctl`, '-D', configDir, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    },
    async stop() {
      if (!existsSync(join(dataDir, 'postmaster.pid'))) return;
      await asPostgres([`${PG_BIN}/pg_ctl`, '-D', configDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
    },
    /** Runs SQL over the unix socket as postgres; returns psql's unaligned tuples-only output. */
    async sql(text) {
      return (await asPostgres([`${PG_BIN}/psql`, '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-U', 'postgres', '-d', 'postgres'], { input: text })).trim();
    },
    async remove() {
      await cluster.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  if (start) await cluster.start();
  return cluster;
}

async function chownTree(path, uid, gid) {
  await chown(path, uid, gid);
  if ((await lstat(path)).isDirectory()) for (const e of await readdir(path)) await chownTree(join(path, e), uid, gid);
}

/**
 * psql over TCP with a password (given through the environment, as a client would); resolves to
 * the output, rejects with psql's error.
 */
export async function tcpQuery({ host = '127.0.0.1', port, user = 'postgres', password, database = 'postgres', sql }) {
  return (
    await asPostgres([`${PG_BIN}/psql`, '-X', '-A', '-t', '-q', '-w', '-h', host, '-p', String(port), '-U', user, '-d', database, '-c', sql], {
      env: { PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
      timeoutMs: 15_000,
    })
  ).trim();
}

/** `path mode size sha256` of every entry under dir, sorted: the "checksum listing" the tests compare. */
export async function checksumListing(dir) {
  const lines = [];
  const walk = async (rel) => {
    for (const e of (await readdir(join(dir, rel))).sort()) {
      const p = rel ? `${rel}/${e}` : e;
      const st = await lstat(join(dir, p));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        lines.push(`${p}/ ${mode}`);
        await walk(p);
      } else if (st.isFile()) {
        lines.push(`${p} ${mode} ${st.size} ${st.mtimeMs} ${createHash('sha256').update(await readFile(join(dir, p))).digest('hex')}`);
      } else lines.push(`${p} ${mode} other`);
    }
  };
  await walk('');
  return lines;
}
