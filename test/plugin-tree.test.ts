import { describe, it, expect } from 'vitest';
import type { PluginDirectoryReading, PluginManifest, PluginSource } from '../core/plugin-model.js';
import {
  ancestorsOf,
  buildPluginInventory,
  descendantsOf,
  participantsOf,
  resolveChain,
  TreeProblemCode,
  withActivationOutcome,
} from '../core/plugin-tree.js';

function manifest(name: string, extra: Partial<PluginManifest> = {}): PluginManifest {
  return {
    name,
    version: '1.0',
    description: '',
    minProductVersion: undefined,
    maxProductVersion: undefined,
    minSdkVersion: '1.0',
    parentName: undefined,
    minParentVersion: undefined,
    main: 'index.js',
    ...extra,
  };
}

function reading(
  name: string,
  extra: Partial<PluginManifest> = {},
  source: PluginSource = 'bundled',
  root = `/${source}`,
): PluginDirectoryReading {
  return { dirName: name, directory: `${root}/${name}`, source, manifest: manifest(name, extra), problems: [] };
}

const ext = (name: string, parentName: string, extra: Partial<PluginManifest> = {}) =>
  reading(name, { parentName, ...extra });

const build = (readings: PluginDirectoryReading[], disabled: string[] = [], sdkVersion = '1.0') =>
  buildPluginInventory(readings, { disabled: new Set(disabled), sdkVersion });

const codesOf = (inv: ReturnType<typeof build>, name: string) =>
  inv.records.get(name)?.problems.map((p) => p.code);

describe('buildPluginInventory: the tree', () => {
  it('links parents and children, sorted by name, with root names', () => {
    const inv = build([reading('tomcat'), ext('zeta', 'tomcat'), ext('alpha', 'tomcat'), ext('deep', 'alpha')]);
    const tomcat = inv.records.get('tomcat');
    expect(tomcat?.children).toEqual(['alpha', 'zeta']);
    expect(inv.records.get('alpha')?.children).toEqual(['deep']);
    expect(inv.records.get('deep')?.rootName).toBe('tomcat');
    expect(inv.records.get('deep')?.parentName).toBe('alpha');
    expect(tomcat?.rootName).toBe('tomcat');
    for (const r of inv.records.values()) {
      expect(r.state).toBe('enabled');
      expect(r.problems).toEqual([]);
      expect(r.disabledBy).toBeUndefined();
    }
    expect(inv.problems).toEqual([]);
  });

  it('does not mutate the readings problem arrays', () => {
    const r: PluginDirectoryReading = { ...reading('x', { parentName: 'nope' }), problems: [] };
    build([r]);
    expect(r.problems).toEqual([]);
  });
});

describe('buildPluginInventory: broken plugins', () => {
  it('carries over the problems of a reading without manifest, named after its directory', () => {
    const problem = { code: 'PLUGIN_CONFIG_MISSING' as const, message: 'no plugin.config', where: '/b/bad/plugin.config' };
    const inv = build([
      { dirName: 'bad', directory: '/b/bad', source: 'bundled', manifest: undefined, problems: [problem] },
      reading('good'),
    ]);
    const bad = inv.records.get('bad');
    expect(bad?.state).toBe('broken');
    expect(bad?.problems).toEqual([problem]);
    expect(bad?.manifest).toBeUndefined();
    expect(inv.records.get('good')?.state).toBe('enabled');
  });

  it('breaks a reading without manifest even if it carries no problem', () => {
    const inv = build([{ dirName: 'odd', directory: '/b/odd', source: 'bundled', manifest: undefined, problems: [] }]);
    expect(inv.records.get('odd')?.state).toBe('broken');
    expect(inv.records.get('odd')?.problems).toHaveLength(1);
  });

  it('refuses a plugin that needs a newer SDK', () => {
    const inv = build([reading('future', { minSdkVersion: '1.10' }), reading('now', { minSdkVersion: '1' })], [], '1.9');
    const p = inv.records.get('future')?.problems[0];
    expect(p?.code).toBe(TreeProblemCode.SDK_UNSUPPORTED);
    expect(p?.message).toBe('requires SDK 1.10, this framework implements 1.9; upgrade abctl');
    expect(p?.where).toBe('/bundled/future/plugin.config: minSdkVersion');
    expect(inv.records.get('future')?.state).toBe('broken');
    expect(inv.records.get('now')?.state).toBe('enabled');
  });

  it('accepts minSdkVersion equal to the SDK with a different number of components', () => {
    const inv = build([reading('p', { minSdkVersion: '1.0.0' })], [], '1');
    expect(inv.records.get('p')?.state).toBe('enabled');
  });

  it('breaks an extension whose parent is missing', () => {
    const inv = build([reading('a'), ext('orphan', 'ghost')]);
    const r = inv.records.get('orphan');
    expect(r?.state).toBe('broken');
    expect(r?.problems.map((p) => p.code)).toEqual([TreeProblemCode.PARENT_MISSING]);
    expect(r?.problems[0]?.message).toContain('"ghost"');
    expect(r?.rootName).toBe('orphan');
    expect(inv.records.get('a')?.state).toBe('enabled');
  });

  it('breaks an extension whose parent is older than minParentVersion, naming both versions', () => {
    const inv = build([
      reading('tomcat', { version: '1.9' }),
      ext('new', 'tomcat', { minParentVersion: '1.10' }),
      ext('ok', 'tomcat', { minParentVersion: '1.9.0' }),
    ]);
    const p = inv.records.get('new')?.problems[0];
    expect(p?.code).toBe(TreeProblemCode.PARENT_TOO_OLD);
    expect(p?.message).toContain('1.10');
    expect(p?.message).toContain('1.9');
    expect(p?.where).toBe('/bundled/new/plugin.config: minParentVersion');
    expect(inv.records.get('ok')?.state).toBe('enabled');
    expect(inv.records.get('tomcat')?.state).toBe('enabled');
  });

  it('breaks children of a broken parent with PARENT_BROKEN, down the whole chain', () => {
    const inv = build([reading('root', { minSdkVersion: '9' }), ext('child', 'root'), ext('grandchild', 'child')]);
    expect(codesOf(inv, 'root')).toEqual([TreeProblemCode.SDK_UNSUPPORTED]);
    expect(codesOf(inv, 'child')).toEqual([TreeProblemCode.PARENT_BROKEN]);
    expect(codesOf(inv, 'grandchild')).toEqual([TreeProblemCode.PARENT_BROKEN]);
    expect(inv.records.get('child')?.problems[0]?.message).toContain('"root"');
    expect(inv.records.get('grandchild')?.problems[0]?.message).toContain('"child"');
    expect(inv.records.get('child')?.disabledBy).toBe('root');
    expect(inv.records.get('grandchild')?.disabledBy).toBe('root');
    expect(inv.records.get('grandchild')?.rootName).toBe('root');
  });

  it('orders the same regardless of input order (child listed before parent)', () => {
    const inv = build([ext('grandchild', 'child'), ext('child', 'root'), reading('root', { minSdkVersion: '9' })]);
    expect(codesOf(inv, 'grandchild')).toEqual([TreeProblemCode.PARENT_BROKEN]);
    expect(inv.records.get('grandchild')?.rootName).toBe('root');
  });
});

describe('buildPluginInventory: cycles', () => {
  it('breaks every member of a 2-cycle and names the cycle from each member', () => {
    const inv = build([ext('a', 'b'), ext('b', 'a'), reading('fine')]);
    expect(codesOf(inv, 'a')).toEqual([TreeProblemCode.PARENT_CYCLE]);
    expect(codesOf(inv, 'b')).toEqual([TreeProblemCode.PARENT_CYCLE]);
    expect(inv.records.get('a')?.problems[0]?.message).toContain('a -> b -> a');
    expect(inv.records.get('b')?.problems[0]?.message).toContain('b -> a -> b');
    expect(inv.records.get('fine')?.state).toBe('enabled');
  });

  it('names a 3-cycle in order and breaks extensions hanging off it', () => {
    const inv = build([ext('x', 'y'), ext('y', 'z'), ext('z', 'x'), ext('leaf', 'y')]);
    expect(inv.records.get('x')?.problems[0]?.message).toContain('x -> y -> z -> x');
    expect(inv.records.get('y')?.problems[0]?.message).toContain('y -> z -> x -> y');
    expect(inv.records.get('z')?.problems[0]?.message).toContain('z -> x -> y -> z');
    for (const n of ['x', 'y', 'z']) expect(codesOf(inv, n)).toEqual([TreeProblemCode.PARENT_CYCLE]);
    expect(codesOf(inv, 'leaf')).toEqual([TreeProblemCode.PARENT_BROKEN]);
    expect(inv.records.get('leaf')?.disabledBy).toBe('y');
  });

  it('breaks a plugin that is its own parent', () => {
    const inv = build([ext('me', 'me')]);
    expect(codesOf(inv, 'me')).toEqual([TreeProblemCode.PARENT_CYCLE]);
    expect(inv.records.get('me')?.problems[0]?.message).toMatch(/itself/);
    expect(descendantsOf(inv, 'me')).toEqual([]);
    expect(ancestorsOf(inv, 'me')).toEqual([]);
  });

  it('query helpers terminate on cycles', () => {
    const inv = build([ext('a', 'b'), ext('b', 'a')]);
    expect(descendantsOf(inv, 'a')).toEqual(['b']);
    expect(ancestorsOf(inv, 'a')).toEqual(['b']);
    expect(participantsOf(inv, 'a')).toEqual(['a']);
  });
});

describe('buildPluginInventory: duplicates', () => {
  it('keeps the first reading (installed) and breaks the later one (bundled), naming both directories', () => {
    const inv = build([
      reading('tomcat', { version: '2.0' }, 'installed', '/inst/plugins'),
      reading('tomcat', { version: '1.0' }, 'bundled', '/app/plugins'),
      ext('ext', 'tomcat', { minParentVersion: '2' }),
    ]);
    const winner = inv.records.get('tomcat');
    expect(winner?.directory).toBe('/inst/plugins/tomcat');
    expect(winner?.state).toBe('enabled');
    expect(inv.records.get('ext')?.state).toBe('enabled');
    expect(inv.duplicates).toHaveLength(1);
    const loser = inv.duplicates?.[0];
    expect(loser?.directory).toBe('/app/plugins/tomcat');
    expect(loser?.state).toBe('broken');
    const p = loser?.problems[0];
    expect(p?.code).toBe(TreeProblemCode.DUPLICATE_NAME);
    expect(p?.message).toContain('/inst/plugins/tomcat');
    expect(p?.message).toContain('/app/plugins/tomcat');
    expect(inv.problems).toContainEqual(p);
  });

  it('a broken first reading still keeps the name', () => {
    const inv = build([
      { dirName: 'p', directory: '/i/p', source: 'installed', manifest: undefined, problems: [
        { code: 'PLUGIN_CONFIG_KEY_MISSING', message: 'x', where: '/i/p/plugin.config: version' },
      ] },
      reading('p'),
    ]);
    expect(inv.records.get('p')?.directory).toBe('/i/p');
    expect(inv.records.get('p')?.state).toBe('broken');
    expect(inv.duplicates?.[0]?.directory).toBe('/bundled/p');
  });
});

describe('buildPluginInventory: disabled', () => {
  it('disables by name and through every ancestor', () => {
    const inv = build([reading('r'), ext('a', 'r'), ext('b', 'a'), ext('c', 'b'), reading('other')], ['a']);
    expect(inv.records.get('r')?.state).toBe('enabled');
    expect(inv.records.get('a')).toMatchObject({ state: 'disabled', disabledBy: 'user' });
    expect(inv.records.get('b')).toMatchObject({ state: 'disabled', disabledBy: 'a' });
    expect(inv.records.get('c')).toMatchObject({ state: 'disabled', disabledBy: 'a' });
    expect(inv.records.get('other')?.state).toBe('enabled');
  });

  it('names the nearest user-disabled ancestor', () => {
    const inv = build([reading('r'), ext('a', 'r'), ext('b', 'a'), ext('c', 'b')], ['r', 'b']);
    expect(inv.records.get('a')).toMatchObject({ state: 'disabled', disabledBy: 'r' });
    expect(inv.records.get('b')).toMatchObject({ state: 'disabled', disabledBy: 'user' });
    expect(inv.records.get('c')).toMatchObject({ state: 'disabled', disabledBy: 'b' });
  });

  it('broken wins over disabled', () => {
    const inv = build([ext('x', 'missing')], ['x']);
    expect(inv.records.get('x')?.state).toBe('broken');
  });

  it('ignores unknown names in the disabled set', () => {
    const inv = build([reading('r')], ['nope']);
    expect(inv.records.get('r')?.state).toBe('enabled');
    expect(inv.records.has('nope')).toBe(false);
  });
});

describe('queries', () => {
  const inv = build([
    reading('root'),
    ext('b', 'root'),
    ext('a', 'root'),
    ext('a1', 'a'),
    ext('a2', 'a'),
    ext('b1', 'b'),
    ext('off', 'root'),
    ext('offchild', 'off'),
    ext('broken', 'a', { minSdkVersion: '99' }),
    reading('other'),
  ], ['off']);

  it('descendantsOf is depth-first, parent before child, siblings by name', () => {
    expect(descendantsOf(inv, 'root')).toEqual(['a', 'a1', 'a2', 'broken', 'b', 'b1', 'off', 'offchild']);
    expect(descendantsOf(inv, 'a')).toEqual(['a1', 'a2', 'broken']);
    expect(descendantsOf(inv, 'other')).toEqual([]);
    expect(descendantsOf(inv, 'unknown')).toEqual([]);
  });

  it('ancestorsOf lists nearest first', () => {
    expect(ancestorsOf(inv, 'a1')).toEqual(['a', 'root']);
    expect(ancestorsOf(inv, 'root')).toEqual([]);
    expect(ancestorsOf(inv, 'unknown')).toEqual([]);
  });

  it('participantsOf is the root plus enabled descendants in execution order', () => {
    expect(participantsOf(inv, 'root')).toEqual(['root', 'a', 'a1', 'a2', 'b', 'b1']);
    expect(participantsOf(inv, 'other')).toEqual(['other']);
    expect(participantsOf(inv, 'unknown')).toEqual([]);
  });
});

describe('withActivationOutcome', () => {
  it('turns broken and skipped plugins into broken copies and leaves the rest shared', () => {
    const inv = build([reading('top'), ext('mid', 'top'), ext('leaf', 'mid'), reading('ok'), reading('off')], ['off']);
    const startFailed = { code: 'PLUGIN_START_FAILED' as const, message: 'start failed', where: '/bundled/mid/index.js' };
    const parentBroken = { code: 'PARENT_BROKEN' as const, message: 'mid is broken', where: '/bundled/mid/index.js' };
    const after = withActivationOutcome(inv, {
      plugins: new Map([
        ['top', { status: 'active' }],
        ['mid', { status: 'broken', problems: [startFailed] }],
        ['leaf', { status: 'skipped', brokenAncestor: 'mid', problems: [parentBroken] }],
        ['ok', { status: 'active' }],
      ]),
    });
    expect(after.records.get('mid')).toMatchObject({ state: 'broken', disabledBy: undefined, problems: [startFailed], children: ['leaf'] });
    expect(after.records.get('leaf')).toMatchObject({ state: 'broken', disabledBy: 'mid', problems: [parentBroken] });
    for (const name of ['top', 'ok', 'off']) expect(after.records.get(name)).toBe(inv.records.get(name));
    // The inventory it was given is unchanged.
    expect(inv.records.get('mid')).toMatchObject({ state: 'enabled', problems: [] });
    expect(participantsOf(after, 'top')).toEqual(['top']);
  });
});

describe('resolveChain: what a chain leaves out, and why', () => {
  // root -> ok, off (disabled by the user) -> offkid, bad (parent too old) -> badkid, gone (broken but disabled by the user)
  const readings = [
    reading('root', { version: '1.0' }),
    ext('ok', 'root'),
    ext('off', 'root'),
    ext('offkid', 'off'),
    ext('bad', 'root', { minParentVersion: '2.0' }),
    ext('badkid', 'bad'),
    ext('gone', 'root', { minParentVersion: '3.0' }),
  ];
  const inv = build(readings, ['off', 'gone']);

  it('runs the enabled ones, names the disabled ones, and reports the broken ones where they start', () => {
    const chain = resolveChain(inv, 'root');
    expect(chain.participants).toEqual(['root', 'ok']);
    expect(chain.disabled).toEqual([
      { name: 'gone', disabledBy: 'user' },
      { name: 'off', disabledBy: 'user' },
      { name: 'offkid', disabledBy: 'off' },
    ]);
    expect(chain.broken.map((r) => r.name)).toEqual(['bad']);
    expect(chain.broken[0]?.problems[0]?.code).toBe(TreeProblemCode.PARENT_TOO_OLD);
    expect(chain.brokenBelow).toEqual(['badkid']);
    // participantsOf is the same walk, participants only.
    expect(participantsOf(inv, 'root')).toEqual(['root', 'ok']);
  });

  it('a broken plugin the user disabled stays broken (describePlugins shows why) but counts as disabled', () => {
    expect(inv.records.get('gone')).toMatchObject({ state: 'broken', userDisabled: true });
    expect(inv.records.get('bad')?.userDisabled).toBeUndefined();
    expect(inv.records.get('offkid')).toMatchObject({ state: 'disabled', userDisabled: true });
  });

  it('disabling the broken one leaves nothing broken in the chain', () => {
    const chain = resolveChain(build(readings, ['off', 'gone', 'bad']), 'root');
    expect(chain.broken).toEqual([]);
    expect(chain.disabled.map((d) => d.name)).toEqual(['bad', 'badkid', 'gone', 'off', 'offkid']);
  });
});

describe('scale', () => {
  it('handles 1,000 plugins in chains 50 deep, and a 20,000-deep chain, in linear time', () => {
    const readings: PluginDirectoryReading[] = [];
    for (let c = 0; c < 20; c++) {
      readings.push(reading(`c${c}n0`));
      for (let d = 1; d < 50; d++) readings.push(ext(`c${c}n${d}`, `c${c}n${d - 1}`));
    }
    readings.reverse(); // children before parents: the worst order for a naive resolver
    const t0 = performance.now();
    const inv = build(readings, ['c3n10']);
    const elapsed = performance.now() - t0;
    expect(inv.records.size).toBe(1000);
    expect(inv.records.get('c0n49')?.rootName).toBe('c0n0');
    expect(inv.records.get('c3n49')).toMatchObject({ state: 'disabled', disabledBy: 'c3n10' });
    expect(participantsOf(inv, 'c0n0')).toHaveLength(50);
    expect(participantsOf(inv, 'c3n0')).toHaveLength(10);
    // Generous for a loaded machine; a resolver that rescans chains would take far longer.
    expect(elapsed).toBeLessThan(1000);

    const deep: PluginDirectoryReading[] = [reading('n0', { minSdkVersion: '2' })];
    for (let d = 1; d < 20_000; d++) deep.push(ext(`n${d}`, `n${d - 1}`));
    const inv2 = build(deep.reverse());
    expect(inv2.records.get('n19999')?.rootName).toBe('n0');
    expect(inv2.records.get('n19999')?.disabledBy).toBe('n0');
    expect(inv2.records.get('n19999')?.state).toBe('broken');
    expect(descendantsOf(inv2, 'n0')).toHaveLength(19_999);
    expect(ancestorsOf(inv2, 'n19999')).toHaveLength(19_999);
  });

  it('finds a long cycle without recursion and abbreviates its description', () => {
    const n = 50_000;
    const readings = Array.from({ length: n }, (_, i) => ext(`k${i}`, `k${(i + 1) % n}`));
    const t0 = performance.now();
    const inv = build(readings);
    // A quadratic walk over 50,000 links takes minutes; the bound leaves room for a loaded machine.
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(codesOf(inv, 'k123')).toEqual([TreeProblemCode.PARENT_CYCLE]);
    expect(inv.records.get('k123')?.problems[0]?.message).toBe(
      'parentName forms a cycle: k123 -> k124 -> k125 -> k126 -> k127 -> k128 -> k129 -> k130 -> k131 -> k132 -> ... (49989 more) -> k122 -> k123',
    );
  });
});
