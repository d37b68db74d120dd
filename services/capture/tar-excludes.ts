import { posix } from 'node:path';
import { DEFAULT_SECRET_PATHS } from './secrets.js';

/**
 * GNU tar arguments that give a remote `tar -C root -cf - .` the same exclude semantics as
 * the local walker (core/metadata excludes): patterns anchored at the root (`./foo`), `*`
 * not crossing `/` (so `logs/*.log` keeps `logs/sub/x.log`), and `**` spanning directories.
 * Tar does not descend into an excluded directory, which gives `foo` and `bar/*` their meaning.
 */
export function tarExcludeArgs(root: string, excludes: readonly string[], allowSecrets: readonly string[] = []): string[] {
  const args: string[] = ['--anchored'];
  const add = (pattern: string, crossesSlash: boolean): void => {
    args.push(crossesSlash ? '--wildcards-match-slash' : '--no-wildcards-match-slash', `--exclude=./${pattern}`);
  };
  for (const e of excludes) {
    const clean = e.replace(/^\.\/+/, '').replace(/\/+$/, '');
    if (clean.includes('**')) add(clean.replace(/\*\*\/?/g, '*'), true);
    else add(clean, false);
  }
  // The default secrets that fall under this root, unless the definition names them.
  const base = root.endsWith('/') ? root : `${root}/`;
  for (const secret of DEFAULT_SECRET_PATHS) {
    if (allowSecrets.includes(secret)) continue;
    if (secret.startsWith(base)) add(posix.relative(root, secret), false);
  }
  return args;
}
