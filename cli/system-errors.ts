import { access, constants, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The system error that really happened. Node's recursive mkdir reports ENOENT when the
 * nearest existing directory is read-only or not writable, which would send the user
 * looking for a missing path; asking that directory gives the real reason.
 */
export async function actualSystemError(err: unknown): Promise<unknown> {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || e.code !== 'ENOENT' || e.syscall !== 'mkdir' || !e.path) return err;
  let dir = dirname(e.path);
  while (!(await stat(dir).then((s) => s.isDirectory(), () => false))) {
    if (dirname(dir) === dir) return err;
    dir = dirname(dir);
  }
  try {
    await access(dir, constants.W_OK);
    return err;
  } catch (denied) {
    const code = (denied as NodeJS.ErrnoException).code;
    if (code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM') return err;
    return Object.assign(new Error(`${code}: cannot create ${e.path}`, { cause: err }), { code, syscall: 'mkdir', path: e.path });
  }
}
