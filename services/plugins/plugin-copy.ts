/**
 * Copying a plugin directory into the instance: regular files and directories only. A
 * symbolic link would keep pointing wherever it points, so code outside the plugin (which
 * can change after installation) would run on the next command. A link to a regular file
 * inside the plugin directory is copied as that file; every other link, and anything that is
 * neither a file nor a directory, is refused by name.
 */
import { copyFile, lstat, mkdir, readdir, realpath, stat, utimes } from 'node:fs/promises';
import path from 'node:path';

export interface CopyPlan {
  /** Directories to create, then files to copy, relative to the plugin directory; parents first. */
  readonly directories: readonly string[];
  readonly files: readonly { readonly rel: string; readonly from: string }[];
  /** One line per entry that cannot be installed, naming it; empty when the plugin can be copied. */
  readonly refused: readonly string[];
}

/** Looks at every entry below `source` (a link to the plugin directory itself is followed). */
export async function planPluginCopy(source: string): Promise<CopyPlan> {
  const root = await realpath(source);
  const directories: string[] = [];
  const files: { rel: string; from: string }[] = [];
  const refused: string[] = [];
  const pending = [''];
  while (pending.length > 0) {
    const dir = pending.pop() as string;
    const entries = await readdir(path.join(root, dir), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const rel = path.join(dir, entry.name);
      const abs = path.join(root, rel);
      if (entry.isDirectory()) {
        directories.push(rel);
        pending.push(rel);
      } else if (entry.isFile()) {
        files.push({ rel, from: abs });
      } else if (entry.isSymbolicLink()) {
        const linked = await resolveLink(root, abs);
        if (typeof linked === 'string') files.push({ rel, from: linked });
        else refused.push(`${rel}: ${linked.why}`);
      } else {
        refused.push(`${rel}: not a regular file or directory (a device, socket or pipe)`);
      }
    }
  }
  return { directories, files, refused };
}

/** The real path of a link to a regular file inside `root`, or why the link cannot be installed. */
async function resolveLink(root: string, link: string): Promise<string | { why: string }> {
  let real: string;
  try {
    real = await realpath(link);
  } catch {
    return { why: 'a symbolic link to nothing (its target does not exist)' };
  }
  const rel = path.relative(root, real);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    return { why: `a symbolic link to ${real}, outside the plugin directory` };
  }
  const target = await stat(real);
  if (!target.isFile()) return { why: `a symbolic link to ${target.isDirectory() ? 'a directory' : 'something other than a file'}; only links to files are copied` };
  return real;
}

/** Creates `target` and copies the plan into it (modes and file times kept). */
export async function copyPlanned(plan: CopyPlan, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  for (const dir of plan.directories) await mkdir(path.join(target, dir), { recursive: true });
  for (const { rel, from } of plan.files) {
    const to = path.join(target, rel);
    await copyFile(from, to);
    const { atime, mtime } = await lstat(from);
    await utimes(to, atime, mtime);
  }
}
