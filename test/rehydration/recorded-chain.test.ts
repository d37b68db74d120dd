/**
 * The recorded-chain comparison on its own, over inventories built by the real tree code (the
 * deploy test, test/deploy/recorded-chain.test.ts, runs it through a real deploy): old records,
 * grouping per extension, an extension disabled through its parent, several missing at once.
 */
import { describe, expect, it } from 'vitest';
import type { PluginDirectoryReading } from '../../core/plugin-model.js';
import { buildPluginInventory } from '../../core/plugin-tree.js';
import { checkRecordedChains } from '../../services/rehydration/recorded-chain.js';
import { AbError } from '../../core/errors.js';

const plugin = (name: string, version = '1.0', parentName?: string): PluginDirectoryReading => ({
  dirName: name,
  directory: `/bundled/${name}`,
  source: 'bundled',
  manifest: { name, version, description: '', minProductVersion: undefined, maxProductVersion: undefined, minSdkVersion: '1.0', parentName, minParentVersion: undefined, main: 'index.js' },
  problems: [],
});
const inventory = (disabled: string[] = []) =>
  buildPluginInventory([plugin('web', '1.5'), plugin('webext', '2.0', 'web'), plugin('webleaf', '1.0', 'webext'), plugin('db')], { disabled: new Set(disabled), sdkVersion: '1.0' });
const madeBy = (path: string, ...participants: [string, string][]) => ({ path, creator: 'web', participants: participants.map(([name, version]) => ({ name, version })) });
const full = (path: string) => madeBy(path, ['web', '1.5'], ['webext', '2.0'], ['webleaf', '1.0']);

describe('checkRecordedChains', () => {
  it('says nothing for a record from before the list, nor for the same or newer versions, nor for extensions installed later', () => {
    expect(checkRecordedChains(inventory(), [madeBy('old')], 'assembly "a"')).toEqual([]);
    expect(checkRecordedChains(inventory(), [full('web1'), madeBy('web2', ['web', '1.0'], ['webext', '1.9'])], 'assembly "a"')).toEqual([]);
  });

  it('one warning per disabled extension, naming every appliance; through a parent, the parent is the one to enable', () => {
    const w = checkRecordedChains(inventory(['webext']), [full('tier/web1'), full('tier/web2')], 'assembly "a"');
    expect(w).toEqual([
      'extension webext is disabled: appliances "tier/web1", "tier/web2" of assembly "a" will be rehydrated without it, though it took part in making them (abctl enablePlugin --name webext to include it)',
      'extension webleaf is disabled (with webext): appliances "tier/web1", "tier/web2" of assembly "a" will be rehydrated without it, though it took part in making them (abctl enablePlugin --name webext to include it)',
    ]);
  });

  it('warns for an older installed version, the root plugin too', () => {
    const w = checkRecordedChains(inventory(), [madeBy('web1', ['web', '2.0'], ['webext', '2.1'])], 'assembly "a"');
    expect(w).toHaveLength(2);
    expect(w[0]).toContain('web is installed at version 1.5, older than the 2.0 that made appliance "web1" of assembly "a"');
    expect(w[1]).toContain('webext is installed at version 2.0, older than the 2.1 that made appliance "web1"');
  });

  it('refuses with every missing or misplaced extension at once', () => {
    let err: unknown;
    try {
      checkRecordedChains(inventory(), [madeBy('web1', ['web', '1.5'], ['gone', '3.0'], ['db', '1.0'])], 'assembly "a"');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AbError);
    const e = err as AbError;
    expect(e.code).toBe('BUNDLE_EXTENSION_MISSING');
    expect(e.message).toBe(
      'the appliances of assembly "a" cannot be rehydrated as they were made: appliance "web1" was made with extension gone 3.0, which is not installed here; ' +
        'appliance "web1" was made with extension db 1.0, which is installed here as a plugin of its own, not in the chain of web',
    );
    expect(e.hint).toMatch(/^install them again/);
  });

  it('names a top-level appliance as one of the catalog, and ends the hint with what to run again', () => {
    let err: unknown;
    try {
      checkRecordedChains(inventory(), [madeBy('web1', ['web', '1.5'], ['gone', '3.0'])], 'the catalog', 'write the image again');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AbError);
    expect((err as AbError).message).toMatch(/^the appliances of the catalog cannot be rehydrated as they were made: appliance "web1" was made with extension gone 3\.0/);
    expect((err as AbError).hint).toMatch(/write the image again$/);
  });
});
