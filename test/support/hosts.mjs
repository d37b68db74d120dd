/**
 * Real deployment hosts for tests and benchmarks: each is an OpenSSH sshd in its own network,
 * mount, UTS and PID namespaces, so it has its own address, host name, process table and file
 * system under the directories deploy writes (tmpfs over /opt, /srv, /var/lib/abctl and any
 * `privateDirs`). The rest of the file system is shared read-write with this machine, which is
 * how node and the system tools stay available inside.
 *
 * Needs root, `ip` (iproute2), `unshare` (util-linux) and openssh-server; .ci/apt-packages
 * installs them. Each host gets a veth pair on a private /30 in 10.231.0.0/16: this machine is
 * .1, the host .2, and sshd listens on the host's address, port 22. Stopping a host first lets
 * its SSH sessions end (bounded; see stop()), then kills its PID namespace's init (sshd), which
 * takes every process deploy started there with it, then deletes the network namespace (and so
 * the veth pair).
 *
 * Plain JavaScript (types in hosts.d.mts) so that bench/deploy.mjs starts the same hosts.
 */
import { spawn, execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SFTP_SERVER, SSHD, sshdConfig } from './sshd.mjs';

const run = promisify(execFile);

/** Directories every test host gets a private tmpfs over (deploy writes under these). */
export const PRIVATE_DIRS = ['/opt', '/srv', '/var/lib/abctl'];

/** How long stop() lets SSH sessions still under way end by themselves, then after SIGTERM. */
const SESSION_WAIT_MS = 5_000;
const TERM_WAIT_MS = 1_000;

let counter = 0;

function accepts(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function need() {
  if (process.getuid?.() !== 0) throw new Error('test hosts need root (network and mount namespaces); run the tests as root, as CI does');
  for (const [path, pkg] of [
    [SSHD, 'openssh-server'],
    [SFTP_SERVER, 'openssh-sftp-server'],
    ['/usr/bin/unshare', 'util-linux'],
  ]) {
    if (!existsSync(path)) throw new Error(`${path} is missing, so the deployment tests cannot start their SSH hosts. Install it: apt-get install -y ${pkg} (CI installs it from .ci/apt-packages)`);
  }
  try {
    await run('ip', ['-V']);
  } catch {
    throw new Error('the ip command is missing, so the deployment tests cannot make their network namespaces. Install it: apt-get install -y iproute2 (CI installs it from .ci/apt-packages)');
  }
}

async function ip(args) {
  try {
    await run('ip', args);
  } catch (err) {
    throw new Error(`ip ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

/**
 * One host. `name` becomes its host name; `privateDirs` are added to PRIVATE_DIRS (each is
 * created on this machine first when missing, as a mount point).
 * @returns {Promise<import('./hosts.d.mts').TestHost>}
 */
export async function startHost(name, opts = {}) {
  await need();
  const id = `${process.pid % 100000}-${++counter}`;
  const ns = `abctl-${name}-${id}`.slice(0, 40);
  const dir = await mkdtemp(join(tmpdir(), `abctl-host-${name}-`));
  const user = userInfo().username;
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `abctl-test-${name}`, '-f', hostKey]);
  const identityFile = opts.identityFile ?? join(dir, 'client_ed25519');
  if (!opts.identityFile) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'abctl-test-client', '-f', identityFile]);
  await writeFile(join(dir, 'authorized_keys'), await readFile(`${identityFile}.pub`));
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const privateDirs = [...PRIVATE_DIRS, ...(opts.privateDirs ?? [])];
  for (const d of privateDirs) await mkdir(d, { recursive: true });

  // A random /30 in 10.231.0.0/16; a clash with a concurrent test run is retried.
  let address;
  let hostSide;
  const veth = `abv${(process.pid % 1000).toString(36)}${counter.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`.slice(0, 15);
  await ip(['netns', 'add', ns]);
  const cleanupNs = () => run('ip', ['netns', 'del', ns]).catch(() => {});
  try {
    await ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    for (let attempt = 0; ; attempt++) {
      const n = Math.floor(Math.random() * 16384);
      const base = `10.231.${n >> 6}.${(n & 63) * 4}`.split('.').map(Number);
      hostSide = `${base[0]}.${base[1]}.${base[2]}.${base[3] + 1}`;
      address = `${base[0]}.${base[1]}.${base[2]}.${base[3] + 2}`;
      try {
        await ip(['addr', 'add', `${hostSide}/30`, 'dev', veth]);
        break;
      } catch (err) {
        if (attempt > 5) throw err;
      }
    }
    await ip(['link', 'set', veth, 'up']);
    await ip(['-n', ns, 'addr', 'add', `${address}/30`, 'dev', 'eth0']);
    await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    await cleanupNs();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const config = join(dir, 'sshd_config');
  await writeFile(config, sshdConfig({ address, port: 22, dir, hostKey, logLevel: 'INFO', extra: ['MaxSessions 20'] }));
  // Inside: private tmpfs mounts and host name, then sshd as the PID namespace's init.
  const mounts = privateDirs.map((d) => `mount -t tmpfs -o mode=0755 abctl-${name} '${d}'`).join(' && ');
  const script = `set -e; mount --make-rprivate /; ${mounts}; hostname '${name}'; exec ${SSHD} -D -e -f '${config}'`;
  let stderr = '';
  let exited;
  const child = spawn('ip', ['netns', 'exec', ns, 'unshare', '--mount', '--uts', '--pid', '--fork', '--kill-child', '--mount-proc', '--', 'sh', '-c', script], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.on('data', (d) => {
    stderr += d.toString('utf8');
    if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
  });
  const exitedPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      resolve(undefined);
    });
    child.once('error', (err) => {
      exited = `could not be started: ${err.message}`;
      resolve(undefined);
    });
  });
  const killOnExit = () => {
    child.kill('SIGKILL');
    try {
      // Synchronous on purpose: this runs from process 'exit'.
      execFileSyncQuiet('ip', ['netns', 'del', ns]);
    } catch {}
  };
  process.once('exit', killOnExit);

  const deadline = Date.now() + 15_000;
  while (!(await accepts(address, 22))) {
    if (exited !== undefined || Date.now() > deadline) {
      child.kill('SIGKILL');
      process.removeListener('exit', killOnExit);
      await cleanupNs();
      await rm(dir, { recursive: true, force: true });
      throw new Error(`test host ${name} (sshd on ${address}:22 in namespace ${ns}) ${exited ?? 'did not accept connections in time'}; its output:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const hostPublicKey = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHostsFile = opts.knownHostsFile ?? join(dir, 'known_hosts');
  await appendFile(knownHostsFile, `${address} ${hostPublicKey}\n`);

  return {
    name,
    namespace: ns,
    address,
    hostSideAddress: hostSide,
    port: 22,
    user,
    identityFile,
    knownHostsFile,
    dir,
    target: `ssh://${user}@${address}:22`,
    log: () => stderr,
    /** Runs a command inside the host's namespaces (as its processes see the machine). */
    async exec(argv) {
      const pid = await initPid(child.pid);
      const r = await run('nsenter', ['-t', String(pid), '-n', '-m', '-u', '-p', '--', ...argv], { maxBuffer: 64 * 1024 * 1024 });
      return r.stdout;
    },
    async sessionsEnded(limitMs = SESSION_WAIT_MS) {
      if (exited !== undefined) return true;
      return (await waitForSessions(await initPid(child.pid), limitMs)).length === 0;
    },
    async stop() {
      process.removeListener('exit', killOnExit);
      if (exited === undefined) {
        // sshd is the namespace's init, so stopping it ends every process inside at once: a login
        // shell caught in its rc files dies there, and what it held on the file system this
        // machine shares stays held (pyenv's rehash lock in root's ~/.pyenv stalled every later
        // login 60 s). So sessions first end by themselves, then by SIGTERM (bash runs its exit
        // traps, which is how pyenv-rehash lets its lock go), and only then the namespace goes.
        let rehashes = [];
        const init = await initPid(child.pid).catch(() => undefined);
        if (init !== undefined) {
          const left = await waitForSessions(init, opts.sessionWaitMs ?? SESSION_WAIT_MS);
          // A rehash whose session already ended (its client went away) gets the same chance.
          const roots = [...left, ...(await pyenvRehashes(init)).map((p) => p.pid)];
          if (roots.length > 0) await terminateTrees(init, roots, TERM_WAIT_MS);
          rehashes = await pyenvRehashes(init);
        }
        child.kill('SIGKILL');
        await exitedPromise;
        await releaseStaleRehashLocks(rehashes);
      }
      await cleanupNs();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- the host's processes, seen from outside

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The host's init (sshd): unshare's only child (ip netns exec execs unshare). */
async function initPid(unsharePid) {
  return Number((await readFile(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8')).trim().split(/\s+/)[0]);
}

/** pid, ppid, comm, state and start (ticks after boot) of a process; undefined once it is gone. */
async function procStat(pid) {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const f = text.slice(close + 2).split(' ');
    return { pid, comm: text.slice(text.indexOf('(') + 1, close), state: f[0], ppid: Number(f[1]), start: Number(f[19]) };
  } catch {
    return undefined;
  }
}

const alive = (p) => p !== undefined && p.state !== 'Z' && p.state !== 'X';

/** The host's SSH sessions under way: sshd's per-connection children of its init. */
async function sessions(init) {
  let children;
  try {
    children = (await readFile(`/proc/${init}/task/${init}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
  const stats = await Promise.all(children.map((c) => procStat(Number(c))));
  return stats.filter((p) => alive(p) && p.comm.startsWith('sshd')).map((p) => p.pid);
}

/**
 * Waits up to `limitMs` for a host's SSH sessions to end (stop() and bench/deploy.mjs's CPU
 * figures both need them over); resolves to the pids of those still there.
 */
export async function waitForSessions(init, limitMs) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const left = await sessions(init);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(50);
  }
}

/** Every live process of this machine (global pids). */
async function allProcesses() {
  const names = (await readdir('/proc')).filter((n) => /^\d+$/.test(n));
  return (await Promise.all(names.map((n) => procStat(Number(n))))).filter(alive);
}

/** SIGTERM to `roots` and everything under them, then up to `limitMs` for them to be gone. */
async function terminateTrees(init, roots, limitMs) {
  const procs = await allProcesses();
  const tree = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (!tree.has(p.pid) && tree.has(p.ppid)) grew = tree.add(p.pid) !== undefined;
  }
  tree.delete(init);
  for (const pid of tree) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline && (await Promise.all([...tree].map(procStat))).some(alive)) await sleep(50);
}

/** The environment variable `name` of a process, or undefined. */
async function environ(pid, name) {
  try {
    const entry = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').find((e) => e.startsWith(`${name}=`));
    return entry?.slice(name.length + 1);
  } catch {
    return undefined;
  }
}

/** pyenv-rehash runs (a `bash .../pyenv-rehash` process) with their PYENV_ROOT; of one PID namespace when `init` is given. */
async function pyenvRehashes(init) {
  const ns = init === undefined ? undefined : await readlinkQuiet(`/proc/${init}/ns/pid`);
  const found = [];
  for (const p of await allProcesses()) {
    if (p.comm !== 'bash' && p.comm !== 'pyenv-rehash') continue;
    let argv;
    try {
      argv = (await readFile(`/proc/${p.pid}/cmdline`, 'utf8')).split('\0');
    } catch {
      continue;
    }
    if (!argv.slice(0, 2).some((a) => a.endsWith('/pyenv-rehash'))) continue;
    if (ns !== undefined && (await readlinkQuiet(`/proc/${p.pid}/ns/pid`)) !== ns) continue;
    const root = await environ(p.pid, 'PYENV_ROOT');
    if (root) found.push({ ...p, root });
  }
  return found;
}

async function readlinkQuiet(path) {
  try {
    return await readlink(path);
  } catch {
    return undefined;
  }
}

/**
 * After a host's pyenv-rehash runs were killed: removes the lock (`$PYENV_ROOT/shims/.pyenv-shim`)
 * of each one's PYENV_ROOT when it is stale and one of them made it. pyenv writes nothing into
 * it to tell whose it is, so times decide: a lock is made by a run that started before it, and
 * one that started after it cannot hold it. It is left alone when any live run elsewhere
 * started before it (that one may hold it), or when none of the killed runs could have made it.
 */
async function releaseStaleRehashLocks(killed) {
  if (killed.length === 0) return;
  // Killed processes go with the namespace, a moment after its init.
  const deadline = Date.now() + TERM_WAIT_MS;
  while (Date.now() < deadline && (await Promise.all(killed.map((k) => procStat(k.pid)))).some(alive)) await sleep(20);
  const hz = Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
  const bootMs = Date.now() - Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]) * 1000;
  // /proc's start times tick at 1/hz and the boot time is derived: allow for both.
  const slackMs = 2000 / hz + 20;
  const startMs = (p) => bootMs + (p.start * 1000) / hz;
  for (const root of new Set(killed.map((k) => k.root))) {
    const lock = join(root, 'shims', '.pyenv-shim');
    let before;
    try {
      before = await stat(lock);
    } catch {
      continue;
    }
    const madeMs = before.birthtimeMs || before.ctimeMs;
    if (!killed.some((k) => k.root === root && startMs(k) <= madeMs + slackMs)) continue;
    const others = (await pyenvRehashes(undefined)).filter((p) => p.root === root);
    if (others.some((p) => startMs(p) <= madeMs + slackMs)) continue;
    try {
      // Still the same file (no run made a new one meanwhile).
      if ((await stat(lock)).ino === before.ino) await rm(lock, { force: true });
    } catch {}
  }
}

function execFileSyncQuiet(cmd, args) {
  execFileSync(cmd, args, { stdio: 'ignore' });
}

/**
 * `count` hosts named `${prefix}1`, `${prefix}2`, ... sharing one client key and one
 * known_hosts file (as an operator's ~/.ssh would).
 * @returns {Promise<import('./hosts.d.mts').TestHosts>}
 */
export async function startHosts(count, opts = {}) {
  const shared = await mkdtemp(join(tmpdir(), 'abctl-hosts-'));
  const identityFile = join(shared, 'client_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'abctl-test-client', '-f', identityFile]);
  const knownHostsFile = join(shared, 'known_hosts');
  await writeFile(knownHostsFile, '');
  const hosts = [];
  try {
    // One at a time: each is quick (~0.2 s) and parallel `ip` calls gain little on 2 cores.
    for (let i = 1; i <= count; i++) hosts.push(await startHost(`${opts.prefix ?? 'host'}${i}`, { ...opts, identityFile, knownHostsFile }));
  } catch (err) {
    await Promise.allSettled(hosts.map((h) => h.stop()));
    await rm(shared, { recursive: true, force: true });
    throw err;
  }
  return {
    hosts,
    identityFile,
    knownHostsFile,
    async stop() {
      await Promise.allSettled(hosts.map((h) => h.stop()));
      await rm(shared, { recursive: true, force: true });
    },
  };
}
