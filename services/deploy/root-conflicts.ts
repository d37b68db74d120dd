/**
 * File set roots that two instances on one host would both write. File sets land at their
 * original paths, so two instances of appliances with the same local root on the same host
 * (a second deployment of an assembly onto the same machine, or two instances of one
 * appliance placed on one host) would overwrite each other's product, and stopping one would
 * stop the other. Shared file sets are volumes meant to be shared; engine targets give every
 * instance its own file system.
 */
import { posix } from 'node:path';
import { parseSshTarget } from '../host/ssh-target.js';

const SSH_SCHEME = 'ssh://';

/** One instance's place: where it runs and the roots of its own local file sets. */
export interface PlacedRoots {
  readonly deployment: string;
  readonly id: string;
  readonly target: string;
  readonly roots: readonly string[];
}

export interface RootConflict {
  readonly mine: PlacedRoots;
  readonly other: PlacedRoots;
  readonly root: string;
  readonly otherRoot: string;
}

/**
 * The machine a target names, for comparing placements: `local`, or `host:port` of an SSH
 * target (the login user does not change the machine). Undefined for engine targets.
 */
export function hostKey(target: string): string | undefined {
  if (target === 'local') return 'local';
  if (!target.startsWith(SSH_SCHEME)) return undefined;
  try {
    // The SSH target's own grammar (brackets for IPv6, port 22 by default), not a second one.
    const t = parseSshTarget(target.slice(SSH_SCHEME.length));
    return `${t.host.toLowerCase()}:${t.port}`;
  } catch {
    return target;
  }
}

function overlaps(a: string, b: string): boolean {
  const x = posix.normalize(a).replace(/\/+$/, '') || '/';
  const y = posix.normalize(b).replace(/\/+$/, '') || '/';
  const inside = (p: string, q: string) => p === q || q === '/' || p.startsWith(`${q}/`);
  return inside(x, y) || inside(y, x);
}

/**
 * Every pair (one of `mine`, one of `mine` or `others`) on the same host with overlapping roots.
 * An instance is not compared with itself (same deployment and id), so a resumed deploy passes.
 */
export function findRootConflicts(mine: readonly PlacedRoots[], others: readonly PlacedRoots[]): RootConflict[] {
  const out: RootConflict[] = [];
  const all = [...mine, ...others];
  mine.forEach((m, k) => {
    const key = hostKey(m.target);
    if (key === undefined || m.roots.length === 0) return;
    // Pairs within `mine` are reported once (against the earlier one).
    for (const o of [...mine.slice(0, k), ...all.slice(mine.length)]) {
      if ((o.deployment === m.deployment && o.id === m.id) || hostKey(o.target) !== key) continue;
      for (const root of m.roots) {
        const otherRoot = o.roots.find((r) => overlaps(root, r));
        if (otherRoot !== undefined) {
          out.push({ mine: m, other: o, root, otherRoot });
          break;
        }
      }
    }
  });
  return out;
}
