/**
 * File reads over plain SSH exec, for servers without the SFTP subsystem (a hardened
 * sshd_config often drops `Subsystem sftp`). Each operation is one short command run by the
 * host's POSIX shell with GNU or busybox `stat`, `find` and `cat` (the same tools glob and
 * capture already need there). Paths travel as argv elements, never spliced into the script.
 * The answers match the SFTP path: same types, same errors, same sort order.
 */
import type { HostDirEntry, HostEntryType, HostStat } from '../../core/reference-host.js';
import { explainFailure, hostError, typeFromMode, whereOf } from './common.js';

/** Runs argv on the host (LC_ALL=C, so error texts are the C locale's); stdout as bytes. */
export type ExecBytes = (argv: readonly string[], opts: { maxOutputBytes?: number }) => Promise<{ exitCode: number; stdout: Buffer; stderr: string }>;

const ABSENT = /No such file|Not a directory|Too many levels of symbolic links/;
const DENIED = /Permission denied|Operation not permitted/;

/** raw mode (hex), size, uid, gid, mtime (s); then, for lstat of a symlink, its target. */
const STAT_SCRIPT = 'stat $0 -c "%f %s %u %g %Y" -- "$1" || exit; if [ "$0" = "" ] && [ -L "$1" ]; then readlink -- "$1"; fi';

const FIND_TYPES: Readonly<Record<string, HostEntryType>> = { f: 'file', d: 'directory', l: 'symlink' };

export class ExecFiles {
  constructor(
    private readonly host: string,
    private readonly exec: ExecBytes,
  ) {}

  /** stat (follow) or lstat; undefined when absent, like the SFTP path. */
  async stat(path: string, noFollow: boolean): Promise<HostStat | undefined> {
    // `$0` carries the -L switch (or nothing), so the script text stays constant.
    const r = await this.exec(['sh', '-c', STAT_SCRIPT, noFollow ? '' : '-L', path], {});
    if (r.exitCode !== 0) {
      if (ABSENT.test(r.stderr)) return undefined;
      throw await explainFailure(this.host, path, 'file', DENIED.test(r.stderr), new Error(r.stderr.trim() || `stat exited ${r.exitCode}`), async () => undefined);
    }
    const text = r.stdout.toString('utf8');
    const nl = text.indexOf('\n');
    const [mode, size, uid, gid, mtime] = text.slice(0, nl).split(' ').map((f, i) => (i === 0 ? parseInt(f, 16) : Number(f))) as number[];
    if ([mode, size, uid, gid, mtime].some((n) => n === undefined || !Number.isFinite(n))) {
      throw hostError('HOST_IO_FAILED', `stat of ${path} printed something unexpected: ${JSON.stringify(text.slice(0, 200))}`, whereOf(this.host, path), {
        hint: 'reading files without SFTP needs GNU coreutils (or busybox) stat on the reference host',
      });
    }
    const type = typeFromMode(mode!);
    // readlink ends the target with one newline; the target itself may hold more.
    const target = noFollow && type === 'symlink' ? text.slice(nl + 1).replace(/\n$/, '') : undefined;
    return {
      type,
      size: size!,
      mode: mode! & 0o7777,
      uid: uid!,
      gid: gid!,
      mtimeMs: mtime! * 1000,
      ...(target === undefined ? {} : { linkTarget: target }),
    };
  }

  async readdir(path: string): Promise<HostDirEntry[]> {
    const s = await this.stat(path, false);
    if (!s) throw hostError('HOST_PATH_NOT_FOUND', `no such directory: ${path}`, whereOf(this.host, path));
    if (s.type !== 'directory') throw hostError('HOST_NOT_A_DIRECTORY', `${path} is a ${s.type}, not a directory`, whereOf(this.host, path));
    // -H: follow `path` itself when it is a symlink (as opendir does), nothing below it.
    const r = await this.exec(['find', '-H', path, '-mindepth', '1', '-maxdepth', '1', '-printf', '%y %f\\0'], { maxOutputBytes: 256 * 1024 * 1024 });
    if (r.exitCode !== 0) {
      throw await explainFailure(this.host, path, 'directory', DENIED.test(r.stderr), new Error(r.stderr.trim()), (x) => this.stat(x, false));
    }
    return r.stdout
      .toString('utf8')
      .split('\0')
      .filter((item) => item.length > 2)
      .map((item): HostDirEntry => ({ name: item.slice(2), type: FIND_TYPES[item[0]!] ?? 'other' }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The caller has checked that `path` is a regular file of `size` bytes. */
  async readFile(path: string, size: number): Promise<Buffer> {
    // Room for a file that grows a little meanwhile; the cap only guards memory.
    const r = await this.exec(['cat', '--', path], { maxOutputBytes: Math.max(2 * size, 1024 * 1024) });
    if (r.exitCode !== 0) {
      throw await explainFailure(this.host, path, 'file', DENIED.test(r.stderr), new Error(r.stderr.trim()), (x) => this.stat(x, false));
    }
    return r.stdout;
  }
}
