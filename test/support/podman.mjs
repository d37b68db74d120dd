// Real podman for tests (and the podman engine): the environment it needs here, image loading
// from an OCI layout (through skopeo), bounded waits, and cleanup of what a test made. Every call has a time limit.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The containers.conf abctl points podman at (runc, ulimits this machine allows). */
export const CONTAINERS_CONF = join(dirname(fileURLToPath(import.meta.url)), 'containers.conf');

/** process.env plus CONTAINERS_CONF. */
export function podmanEnv(env = process.env) {
  return { ...env, CONTAINERS_CONF };
}

/** Runs podman; returns { code, out, err }. Never throws; a timeout gives code null. */
export function podman(args, { timeoutMs = 120_000, input } = {}) {
  const r = spawnSync('podman', args, { env: podmanEnv(), encoding: 'utf8', timeout: timeoutMs, input, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** Like podman() but throws with podman's stderr when it fails. */
export function podmanOk(args, opts) {
  const r = podman(args, opts);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} failed (${r.code}): ${r.err.trim()}`);
  return r.out.trim();
}

/** True when podman is installed and can run a container here (false: say why in `reason`). */
export function podmanAvailable() {
  for (const [tool, pkg] of [['podman', 'podman runc iptables'], ['skopeo', 'skopeo']]) {
    const r = spawnSync(tool, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) return { ok: false, reason: `${tool} is not installed (apt-get install ${pkg})` };
  }
  return { ok: true, reason: '' };
}

/**
 * Imports image `tag` of an OCI layout into podman's storage under the name `reference`
 * (e.g. localhost/abctl/web:0123456789ab). Returns the image id. skopeo writes straight into
 * podman's storage with that name; `podman pull oci:DIR:TAG` would name the image after DIR's
 * path, and refuses paths with capitals (mkdtemp makes them).
 */
export function loadLayout(layoutDir, tag, reference, { timeoutMs = 180_000 } = {}) {
  const r = spawnSync('skopeo', ['copy', '--quiet', `oci:${layoutDir}:${tag}`, `containers-storage:${reference}`], { env: podmanEnv(), encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`skopeo copy oci:${layoutDir}:${tag} containers-storage:${reference} failed (${r.status}): ${r.stderr}${r.error ?? ''}`);
  return podmanOk(['image', 'inspect', '--format', '{{.Id}}', reference], { timeoutMs: 30_000 });
}

/** Removes containers (forced, with a short stop time) and images; missing ones are fine. */
export function cleanup({ containers = [], images = [], volumes = [] } = {}) {
  for (const c of containers) podman(['rm', '--force', '--time', '2', c], { timeoutMs: 60_000 });
  for (const i of images) podman(['rmi', '--force', i], { timeoutMs: 60_000 });
  for (const v of volumes) podman(['volume', 'rm', '--force', v], { timeoutMs: 60_000 });
}

/** Polls `check` (sync or async) every `intervalMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(check, { timeoutMs = 30_000, intervalMs = 200, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function lddPaths(binary) {
  const r = spawnSync('ldd', [binary], { encoding: 'utf8', timeout: 10_000 });
  const out = [];
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /(\/\S+)\s+\(0x/.exec(line);
    if (m) out.push(m[1]);
  }
  return out;
}

/** dpkg status entries of the packages owning `files` (this machine's), so the copy is described truthfully. */
function dpkgStanzas(files) {
  // dpkg records some files under /usr and some under /lib, /bin (merged /usr): ask for both spellings.
  const spellings = files.flatMap((f) => [f, f.replace(/^\/usr\/(lib|lib64|bin|sbin)\//, '/$1/'), f.replace(/^\/(lib|lib64|bin|sbin)\//, '/usr/$1/')]);
  const owners = spawnSync('dpkg', ['-S', ...new Set(spellings)], { encoding: 'utf8', timeout: 30_000 });
  const packages = new Set();
  for (const line of (owners.stdout ?? '').split('\n')) {
    const m = /^([^:\s,]+)(?::[^:\s]+)?: /.exec(line);
    if (m) packages.add(m[1]);
  }
  let status = '';
  try {
    status = readFileSync('/var/lib/dpkg/status', 'utf8');
  } catch {
    return '';
  }
  return status
    .split('\n\n')
    .filter((stanza) => packages.has(/^Package: (\S+)$/m.exec(stanza)?.[1] ?? ''))
    .map((stanza) => `${stanza.trim()}\n\n`)
    .join('');
}

/**
 * A small root file system made offline from this machine's files (seconds, ~15 MB): /bin/sh,
 * getent and a few coreutils with the libraries `ldd` lists for them and for node (the image
 * ships node itself), /etc/passwd and /etc/group with root and nobody, /tmp. Built once per
 * machine under the temp dir and reused (a `.complete` marker says it is whole). Enough for the
 * example appliance; a real base comes from debootstrap (docs/images.md).
 */
export function testRootfs({ dir = join(tmpdir(), 'abctl-test-rootfs-v3') } = {}) {
  if (existsSync(join(dir, '.complete'))) return dir;
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  chmodSync(partial, 0o755);
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib/x86_64-linux-gnu', 'usr/lib64', 'etc', 'tmp', 'var/tmp', 'root', 'opt', 'proc', 'sys', 'dev', 'run']) mkdirSync(join(partial, d), { recursive: true, mode: 0o755 });
  chmodSync(join(partial, 'tmp'), 0o1777);
  for (const [link, target] of [['bin', 'usr/bin'], ['sbin', 'usr/sbin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64']]) symlinkSync(target, join(partial, link));
  const programs = ['/usr/bin/sh', '/usr/bin/dash', '/usr/bin/getent', '/usr/bin/cat', '/usr/bin/ls', '/usr/bin/id', '/usr/bin/sleep'].filter((p) => existsSync(p));
  const libs = new Set();
  for (const p of [...programs, process.execPath]) for (const l of lddPaths(p)) libs.add(l);
  const copy = (from) => {
    // /lib64/x and /lib/x live under usr/ on a merged-/usr system: copy to where the symlinks lead.
    const real = from.replace(/^\/(lib|lib64|bin|sbin)\//, '/usr/$1/');
    const to = join(partial, real);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
    chmodSync(to, 0o755);
  };
  for (const p of programs) copy(p);
  for (const l of libs) copy(l);
  writeFileSync(join(partial, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  writeFileSync(join(partial, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  writeFileSync(join(partial, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  writeFileSync(join(partial, 'etc/hosts'), '127.0.0.1 localhost\n');
  // What a base check reads: the OS, and dpkg's record of the packages the copied files came from.
  copyFileSync('/etc/os-release', join(partial, 'etc/os-release'));
  mkdirSync(join(partial, 'var/lib/dpkg'), { recursive: true });
  writeFileSync(join(partial, 'var/lib/dpkg/status'), dpkgStanzas([...programs, ...libs]));
  writeFileSync(join(partial, '.complete'), '');
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return dir;
}

/** A file's text, or '' when it is missing (for logs in failure messages). */
export function readIfExists(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
