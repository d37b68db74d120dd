/** Which placements would make two instances on one host write the same file set root (pure). */
import { describe, expect, it } from 'vitest';
import { findRootConflicts, hostKey } from '../../services/deploy/root-conflicts.js';

const at = (deployment: string, id: string, target: string, ...roots: string[]) => ({ deployment, id, target, roots });

describe('file set roots of instances sharing a host', () => {
  it('names the machine of a target: the SSH user does not change it, engines have none', () => {
    expect(hostKey('local')).toBe('local');
    expect(hostKey('ssh://root@Db.example.com')).toBe('db.example.com:22');
    expect(hostKey('ssh://deploy@db.example.com:22')).toBe('db.example.com:22');
    expect(hostKey('ssh://root@db.example.com:2222')).toBe('db.example.com:2222');
    expect(hostKey('ssh://db.example.com')).toBe('db.example.com:22');
    expect(hostKey('ssh://root@[::1]:2222')).toBe('::1:2222');
    expect(hostKey('podman')).toBeUndefined();
    expect(hostKey('kubernetes:prod')).toBeUndefined();
  });

  it('finds the same root, or one inside the other, on the same host; other hosts and engines pass', () => {
    const mine = [at('b', 'web-1', 'ssh://root@h1', '/opt/web'), at('b', 'web-2', 'ssh://admin@h1:22', '/opt/web/'), at('b', 'db-1', 'podman', '/srv/db')];
    const others = [at('a', 'db-1', 'ssh://root@h1', '/opt'), at('a', 'web-1', 'ssh://root@h2', '/opt/web'), at('a', 'x-1', 'podman', '/srv/db')];
    expect(findRootConflicts(mine, others).map((c) => [c.mine.id, c.other.deployment, c.other.id, c.otherRoot])).toEqual([
      ['web-1', 'a', 'db-1', '/opt'],
      ['web-2', 'b', 'web-1', '/opt/web'],
      ['web-2', 'a', 'db-1', '/opt'],
    ]);
  });

  it('passes an instance against its own earlier record (a resumed deploy) and siblings without roots', () => {
    expect(findRootConflicts([at('a', 'web-1', 'local', '/opt/web'), at('a', 'sib-1', 'local')], [at('a', 'web-1', 'local', '/opt/web')])).toEqual([]);
    expect(findRootConflicts([at('a', 'web-1', 'local', '/opt/web')], [at('b', 'web-1', 'local', '/opt/webapp')])).toEqual([]);
  });
});
