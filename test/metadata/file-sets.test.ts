import { describe, it, expect } from 'vitest';
import { FileSetDefinition, DEFAULT_FILE_OWNER, DEFAULT_FILE_GROUP, checkFileSetEdit } from '../../core/metadata/index.js';
import { expectUserError } from './helpers.js';

const base = { name: 'home', root: '/opt/app' } as const;

describe('FileSetDefinition', () => {
  it('has documented defaults', () => {
    const d = new FileSetDefinition(base);
    expect(d).toMatchObject({ scope: 'local', captured: true, category: 'user', owner: DEFAULT_FILE_OWNER, group: DEFAULT_FILE_GROUP });
    expect(DEFAULT_FILE_OWNER).toBe('root');
    expect(d.excludes).toEqual([]);
  });

  it('root must be absolute and normalized', () => {
    expect(new FileSetDefinition({ ...base, root: '/opt/app/' }).root).toBe('/opt/app');
    expectUserError(() => new FileSetDefinition({ ...base, root: 'opt/app' }), 'PATH_INVALID');
    expectUserError(() => new FileSetDefinition({ ...base, root: '/opt/../etc' }), 'PATH_INVALID');
  });

  it('excludes must be relative, without .. or a leading /', () => {
    expect(new FileSetDefinition({ ...base, excludes: ['logs/*.log', 'tmp/'] }).excludes).toEqual(['logs/*.log', 'tmp']);
    for (const bad of ['/var/log', '../x', 'a/../../b']) {
      const e = expectUserError(() => new FileSetDefinition({ ...base, excludes: [bad] }), 'PATH_INVALID');
      expect(e.where).toBe('file set definition "home"');
    }
  });

  it('owner and group must be account names or ids', () => {
    expect(new FileSetDefinition({ ...base, owner: 'tomcat', group: '1001' }).group).toBe('1001');
    expectUserError(() => new FileSetDefinition({ ...base, owner: 'bad name' }), 'FILESET_INVALID');
  });

  it('local file sets are captured and have no shared type', () => {
    expectUserError(() => new FileSetDefinition({ ...base, captured: false }), 'FILESET_INVALID');
    expectUserError(() => new FileSetDefinition({ ...base, sharedType: 'NFS' }), 'FILESET_INVALID');
  });

  it('shared file sets need a shared type', () => {
    expectUserError(() => new FileSetDefinition({ ...base, scope: 'shared' }), 'FILESET_INVALID');
  });

  it('captured RAW is not available', () => {
    const e = expectUserError(() => new FileSetDefinition({ ...base, scope: 'shared', sharedType: 'RAW', captured: true }), 'FILESET_SHARED_UNSUPPORTED');
    expect(e.message).toContain('captured RAW');
  });

  it('not-captured DISK_IMAGE is refused', () => {
    const e = expectUserError(() => new FileSetDefinition({ ...base, scope: 'shared', sharedType: 'DISK_IMAGE', captured: false }), 'FILESET_SHARED_UNSUPPORTED');
    expect(e.message).toContain('empty read-only volume');
  });

  it('NFS gets its mount target from the plan unless one is given', () => {
    const nfs = new FileSetDefinition({ ...base, scope: 'shared', sharedType: 'NFS', captured: false });
    expect(nfs.mountTarget).toEqual({ source: 'plan' });
    const fixed = new FileSetDefinition({ ...base, scope: 'shared', sharedType: 'NFS', captured: false, mountTarget: { source: 'definition', target: 'nas:/export/app' } });
    expect(fixed.mountTarget).toEqual({ source: 'definition', target: 'nas:/export/app' });
    expectUserError(
      () => new FileSetDefinition({ ...base, scope: 'shared', sharedType: 'NFS', captured: false, mountTarget: { source: 'definition', target: 'nowhere' } }),
      'FILESET_INVALID',
    );
    expectUserError(() => new FileSetDefinition({ ...base, mountTarget: { source: 'plan' } }), 'FILESET_INVALID');
  });

  it('knows which kinds need a clustered appliance', () => {
    const mk = (sharedType: 'NFS' | 'DISK_IMAGE' | 'RAW', captured: boolean) => new FileSetDefinition({ ...base, scope: 'shared', sharedType, captured });
    expect(mk('NFS', true).needsCluster).toBe(true);
    expect(mk('DISK_IMAGE', true).needsCluster).toBe(true);
    expect(mk('NFS', false).needsCluster).toBe(false);
    expect(mk('RAW', false).needsCluster).toBe(true);
    expect(new FileSetDefinition(base).needsCluster).toBe(false);
  });

  it('with() re-checks and drops NFS-only fields when leaving NFS', () => {
    const nfs = new FileSetDefinition({ ...base, scope: 'shared', sharedType: 'NFS', captured: false });
    expect(nfs.with({ scope: 'local', captured: true }).toPlain()).not.toHaveProperty('mountTarget');
    expectUserError(() => nfs.with({ sharedType: 'DISK_IMAGE' }), 'FILESET_SHARED_UNSUPPORTED');
  });

  it('users may change only scope and shared type of system file sets', () => {
    const sys = new FileSetDefinition({ ...base, category: 'system' });
    expect(() => checkFileSetEdit(sys, { scope: 'shared', sharedType: 'NFS' }, 'user')).not.toThrow();
    expectUserError(() => checkFileSetEdit(sys, { excludes: ['x'] }, 'user'), 'FILESET_READ_ONLY');
    expectUserError(() => checkFileSetEdit(sys, { root: '/x' }, 'user'), 'FILESET_READ_ONLY');
    expect(() => checkFileSetEdit(sys, { excludes: ['x'] }, 'plugin')).not.toThrow();
    const user = new FileSetDefinition(base);
    expect(() => checkFileSetEdit(user, { excludes: ['x'], root: '/y' }, 'user')).not.toThrow();
    expectUserError(() => checkFileSetEdit(user, { category: 'system' }, 'user'), 'FILESET_READ_ONLY');
  });

  it('round trips', () => {
    const d = new FileSetDefinition({ ...base, excludes: ['a', 'b/*'], scope: 'shared', sharedType: 'NFS', captured: true, owner: 'app', group: 'app' });
    expect(FileSetDefinition.fromPlain(JSON.parse(JSON.stringify(d.toPlain()))).toPlain()).toEqual(d.toPlain());
  });
});

describe('FileSetDefinition.excludeMatcher', () => {
  it('is compiled once and applies the excludes', () => {
    const d = new FileSetDefinition({ ...base, excludes: ['work', 'temp/*', 'logs/*.log'] });
    expect(d.excludeMatcher).toBe(d.excludeMatcher);
    expect(d.excludeMatcher.excludes('work/x')).toBe(true);
    expect(d.excludeMatcher.excludes('temp')).toBe(false);
    expect(d.excludeMatcher.excludes('logs/catalina.log')).toBe(true);
  });
});
