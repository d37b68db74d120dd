/**
 * validateDeploymentPlan checks fileRef values where a plan holds them: a `contentresource:`
 * URI naming no content resource of its appliance is a plan problem at the plan line; other
 * schemes are kept (rehydration skips them). Real plan text, parsed back.
 */
import { describe, expect, it } from 'vitest';
import { createDeploymentPlan, formatPlan, parsePlan, validateDeploymentPlan } from '../../core/deployment-plan/index.js';
import type { Appliance } from '../../core/metadata/index.js';
import { fakeCodec, planAssembly } from './fixtures.js';

const WEB = 'assembly "shop" > appliance "web"';

function planText(assembly = planAssembly()): string {
  return formatPlan(createDeploymentPlan(assembly), { secrets: fakeCodec, file: 'plan.xml' });
}

function fileRefProblems(text: string, assembly = planAssembly()) {
  return validateDeploymentPlan(assembly, parsePlan(text, 'plan.xml', { secrets: fakeCodec })).filter((p) => p.code === 'FILEREF_UNRESOLVED');
}

const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('fileRef values in plan validation', () => {
  it('a fresh plan of a consistent assembly has none', () => {
    expect(fileRefProblems(planText())).toEqual([]);
  });

  it('reports a plan value naming a missing content resource, with the plan line and the resources there are', () => {
    const text = planText().replace('current="contentresource:server.xml"', 'current="contentresource:gone.xml"');
    expect(text).toContain('contentresource:gone.xml');
    expect(fileRefProblems(text)).toEqual([
      {
        code: 'FILEREF_UNRESOLVED',
        message: 'contentresource:gone.xml names no content resource of this appliance',
        where: `${WEB} > property "serverConfig"`,
        line: lineOf(text, 'contentresource:gone.xml'),
        hint: 'content resources here: server.xml; point it at one of them, or give a local file with file="..."',
      },
    ]);
  });

  it('reports a dangling metadata value the plan does not override, and not once a local file replaces it', () => {
    const assembly = planAssembly();
    (assembly.getMember('web') as Appliance).properties.add({ name: 'keystore', type: 'fileRef', value: 'contentresource:keystore.p12' }, 'plugin');
    const text = planText(assembly);
    expect(fileRefProblems(text, assembly).map((p) => [p.where, p.line])).toEqual([[`${WEB} > property "keystore"`, lineOf(text, 'name="keystore"')]]);

    const overridden = text.replace(/(<fileRef name="keystore"[^>]*?)file=""/, '$1file="keystore.p12"');
    expect(overridden).not.toBe(text);
    expect(fileRefProblems(overridden, assembly)).toEqual([]);
  });

  it('keeps other schemes as they are: not checked, no problem', () => {
    const text = planText().replace('current="contentresource:server.xml"', 'current="https://example.invalid/server.xml"');
    expect(fileRefProblems(text)).toEqual([]);
  });
});
