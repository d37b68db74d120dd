/**
 * What the agent does to the instance's file system and processes on behalf of the
 * framework and of plugins: user and group lookup, ownership and modes, copies, and running
 * programs as a user. This machine only: the agent always runs on the instance itself.
 */
import { execFile, spawn } from 'node:child_process';
import { chown, chmod, copyFile, lchown, lstat, mkdir, open, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../core/errors.js';
import type { Ownership, RunRequest, RunResult } from '../../core/lifecycle-contract.js';

const execFileP = promisify(execFile);

export interface Account {
  readonly name: string;
  readonly id: number;
  /** For users: the primary group; for groups, equal to `id`. */
  readonly gid: number;
  readonly home?: string;
}

/**
 * Users and groups through `getent`, so NSS sources (LDAP, systemd) count like /etc/passwd.
 * A name that does not exist is the deployer's problem to fix: the message says which and how.
 */
export async function lookupAccount(kind: 'user' | 'group', name: string, where?: string): Promise<Account> {
  if (/^\d+$/.test(name)) return { name, id: Number(name), gid: Number(name) };
  let out: string;
  try {
    out = (await execFileP('getent', [kind === 'user' ? 'passwd' : 'group', name], { encoding: 'utf8' })).stdout;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 2) {
      throw new UserError(kind === 'user' ? 'OWNER_UNKNOWN' : 'GROUP_UNKNOWN', `${kind} "${name}" does not exist on this machine`, {
        ...(where ? { where } : {}),
        hint: kind === 'user' ? `create it (useradd --system ${name}) before rehydrating, or change the file set's owner` : `create it (groupadd --system ${name}), or change the file set's group`,
      });
    }
    throw new UserError('ACCOUNT_LOOKUP_FAILED', `cannot look ${kind} "${name}" up: ${(err as Error).message}`, { ...(where ? { where } : {}), hint: 'the instance needs getent (Debian: libc-bin)' });
  }
  const f = out.trim().split(':');
  return kind === 'user' ? { name, id: Number(f[2]), gid: Number(f[3]), ...(f[5] ? { home: f[5] } : {}) } : { name, id: Number(f[2]), gid: Number(f[2]) };
}

/** owner/group names to ids (undefined: leave as is). */
export async function resolveOwnership(o: Ownership, where?: string): Promise<{ uid: number | undefined; gid: number | undefined }> {
  const uid = o.owner !== undefined ? (await lookupAccount('user', o.owner, where)).id : undefined;
  const gid = o.group !== undefined ? (await lookupAccount('group', o.group, where)).id : undefined;
  return { uid, gid };
}

/**
 * Sets owner, group and mode. chown of a file one already owns to oneself is allowed to
 * anyone; a different owner needs root, and the error then says so.
 */
export async function setOwnership(path: string, o: Ownership & { readonly recursive?: boolean }, where?: string): Promise<void> {
  const { uid, gid } = await resolveOwnership(o, where);
  const apply = async (p: string, isTop: boolean): Promise<void> => {
    const st = await lstat(p);
    if (uid !== undefined || gid !== undefined) {
      try {
        // lchown: a symlink's own owner changes, never the file it points at (which may lie outside the tree).
        if (st.isSymbolicLink()) await lchown(p, uid ?? st.uid, gid ?? st.gid);
        else await chown(p, uid ?? st.uid, gid ?? st.gid);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EPERM') {
          throw new UserError('OWNERSHIP_DENIED', `cannot give ${p} to ${o.owner ?? st.uid}:${o.group ?? st.gid}: only root may change owners`, {
            ...(where ? { where } : {}),
            hint: 'run the agent as root (rehydrate runs as root on an instance)',
            cause: err,
          });
        }
        throw err;
      }
    }
    if (o.mode !== undefined && isTop && !st.isSymbolicLink()) await chmod(p, o.mode);
    if (o.recursive && st.isDirectory()) for (const e of await readdir(p)) await apply(join(p, e), false);
  };
  await apply(path, true);
}

export async function copyWithOwnership(from: string, to: string, o: Ownership, where?: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
  await setOwnership(to, o, where);
}

const DEFAULT_RUN_TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 4 << 20;

/**
 * Runs a program without a shell. The environment goes through spawn's `env` (the process's
 * environment block), never into argv, so `ps` and /proc/<pid>/cmdline do not show it.
 * Another user is reached with spawn's uid/gid (setuid in the child), which needs root.
 */
export async function runProgram(req: RunRequest, signal?: AbortSignal): Promise<RunResult> {
  const [file, ...args] = req.argv;
  if (file === undefined || file === '') throw new UserError('RUN_INVALID', 'run() needs argv with at least the program', { hint: "e.g. ctx.run({ argv: ['/usr/bin/id'] })" });
  const account = req.user !== undefined ? await lookupAccount('user', req.user) : undefined;
  if (account && process.getuid?.() !== 0 && process.getuid?.() !== account.id) {
    throw new UserError('RUN_AS_DENIED', `cannot run ${file} as user "${req.user}": the agent is not running as root`, { hint: 'run the agent as root, or leave user out' });
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: process.env.LANG ?? 'C.UTF-8',
    HOME: account?.home ?? process.env.HOME ?? '/',
    ...(account ? { USER: account.name, LOGNAME: account.name } : {}),
    ...(req.env ?? {}),
  };
  const ids = account ? { uid: account.id, gid: account.gid } : {};
  if (req.detached) return runDetached(file, args, env, ids, req);
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(file, args, { cwd: req.cwd, env, ...ids, stdio: ['pipe', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    let stdout = '';
    let stderr = '';
    const take = (cur: string, d: Buffer): string => (cur.length < MAX_OUTPUT ? cur + d.toString() : cur);
    child.stdout.on('data', (d: Buffer) => (stdout = take(stdout, d)));
    child.stderr.on('data', (d: Buffer) => (stderr = take(stderr, d)));
    const ms = req.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new UserError('RUN_TIMEOUT', `${file} did not finish within ${ms} ms and was killed`, { hint: 'give run() a longer timeoutMs, or check why the program hangs' }));
    }, ms);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT') resolve({ exitCode: 127, signal: null, stdout, stderr: `${file}: command not found` });
      else reject(err);
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ exitCode: code, signal: sig, stdout, stderr });
    });
    // A program that exits without reading its stdin (ls, id) must not crash the run with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(req.input ?? '');
  });
}

async function runDetached(file: string, args: string[], env: Record<string, string>, ids: { uid?: number; gid?: number }, req: RunRequest): Promise<RunResult> {
  const logFile = req.detached?.logFile as string;
  await mkdir(dirname(logFile), { recursive: true });
  const log = await open(logFile, 'a', 0o640);
  try {
    const child = spawn(file, args, { cwd: req.cwd, env, ...ids, detached: true, stdio: ['ignore', log.fd, log.fd] });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid as number));
    });
    // The agent exits after this step; the server must not die with it.
    child.unref();
    return { exitCode: null, signal: null, stdout: '', stderr: '', pid };
  } finally {
    await log.close();
  }
}

const MOUNT_TIMEOUT_MS = 60_000;

/** Whether `dir` is a mount point on this machine (a line of /proc/self/mountinfo names it). */
export async function isMountPoint(dir: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  // Field 5 is the mount point, with spaces and the like written as octal escapes.
  const escaped = dir.replace(/[\s\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return text.split('\n').some((line) => line.split(' ')[4] === escaped);
}

/**
 * Mounts a shared file set's volume at `root` (created when missing): `server:/export` with
 * `mount -t nfs` (the machine needs nfs-common), or `file:///path` as a bind mount of a
 * directory of this machine (for one-machine deployments and the tests). A root that is
 * already a mount point is left as it is: rehydrate runs again on scaling and on resume.
 * Returns false when nothing had to be done.
 */
export async function mountVolume(target: string, root: string, where: string): Promise<boolean> {
  if (await isMountPoint(root)) return false;
  await mkdir(root, { recursive: true });
  const local = /^file:\/\/(\/.*)$/.exec(target)?.[1];
  const argv = local !== undefined ? ['--bind', local, root] : ['-t', 'nfs', target, root];
  try {
    await execFileP('mount', argv, { encoding: 'utf8', timeout: MOUNT_TIMEOUT_MS });
  } catch (err) {
    const e = err as { stderr?: string; code?: unknown; message: string };
    const why = (e.stderr ?? '').trim() || e.message;
    throw new UserError('FILESET_MOUNT_FAILED', `mounting ${target} at ${root} failed: ${why.slice(0, 300)}`, {
      where,
      hint:
        local !== undefined
          ? `check that ${local} exists on this machine and that the agent runs as root`
          : `check that the export exists and this machine may mount it (showmount -e ${target.split(':')[0]}), that nfs-common is installed (apt-get install nfs-common) and that the agent runs as root`,
      cause: err,
    });
  }
  return true;
}

/**
 * Unmounts the volume at `root` (what mountVolume mounted). A busy volume is refused by the
 * kernel and reported as such, naming the tools that show who holds it; a root that stopped
 * being a mount point meanwhile (another instance's release got there first) is fine.
 */
export async function unmountVolume(root: string, where: string): Promise<void> {
  try {
    await execFileP('umount', [root], { encoding: 'utf8', timeout: MOUNT_TIMEOUT_MS });
  } catch (err) {
    if (!(await isMountPoint(root))) return;
    const e = err as { stderr?: string; message: string };
    const why = ((e.stderr ?? '').trim() || e.message).slice(0, 300);
    if (/busy/i.test(why)) {
      throw new UserError('FILESET_UNMOUNT_BUSY', `the volume at ${root} is busy, so it stays mounted: a process still has a file or its working directory there (umount: ${why})`, {
        where,
        hint: `see which with fuser -vm ${root} (or lsof +f -- ${root}), stop them, then run the command again`,
        cause: err,
      });
    }
    throw new UserError('FILESET_UNMOUNT_FAILED', `unmounting ${root} failed: ${why}`, { where, hint: 'check that the agent runs as root, then run the command again', cause: err });
  }
}
