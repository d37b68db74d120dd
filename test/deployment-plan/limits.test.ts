/**
 * Plans that cost without bound are refused quickly and in little memory (the real CLI in
 * a child process, its peak RSS measured), and nothing in a plan is silently ignored.
 */
import { spawnSync } from 'node:child_process';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { Appliance } from '../../core/metadata/appliance.js';
import { Assembly } from '../../core/metadata/assembly.js';
import { MAX_PLAN_BYTES, MAX_PLAN_ELEMENTS, MAX_PLAN_VALUE_CHARS, parsePlan } from '../../core/deployment-plan/index.js';
import { Catalog } from '../../catalog/index.js';
import { instanceLayout, projectRoot } from '../../services/instance.js';
import { tempDir } from '../helpers/plugins.js';

const entry = join(projectRoot(), 'bin', 'abctl');
// Prints the child's peak RSS on exit, after whatever abctl printed.
const REPORT_RSS = `data:text/javascript,process.on('exit',()=>process.stderr.write('maxrss-kb='+process.resourceUsage().maxRSS+'\\n'))`;

let tmp: { path: string; cleanup: () => Promise<void> };
let instance: string;

function validate(plan: string) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', REPORT_RSS, entry, 'validateDeploymentPlan', '--assembly', 'shop', '--plan', plan], {
    env: { ...process.env, AB_INSTANCE: instance },
    encoding: 'utf8',
    cwd: tmp.path,
  });
  const rssMiB = Number(/maxrss-kb=(\d+)/.exec(r.stderr)?.[1]) / 1024;
  return { code: r.status, out: r.stdout, err: r.stderr, ms: performance.now() - t0, rssMiB };
}

const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<deploymentPlan formatVersion="1" assembly="shop">\n  <appliance name="web">\n';
const TAIL = '  </appliance>\n</deploymentPlan>\n';

beforeAll(async () => {
  tmp = await tempDir();
  instance = join(tmp.path, 'instance');
  const web = new Appliance({ name: 'web', creator: 'tomcat', properties: [{ name: 'motd', value: 'hi' }] });
  await new Catalog(instanceLayout(instance)).commit({ put: [web, new Assembly({ name: 'shop', members: [web] })] });
});
afterAll(() => tmp.cleanup());

function refusal(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('plan input limits', () => {
  it('refuses a plan file over the size limit before reading it', async () => {
    const plan = join(tmp.path, 'huge.xml');
    await writeFile(plan, HEAD);
    await truncate(plan, MAX_PLAN_BYTES + 1);
    const r = validate(plan);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error: ${plan}: the plan file is ${MAX_PLAN_BYTES + 1} bytes; a plan may hold at most ${MAX_PLAN_BYTES} bytes (64 MiB)`);
    expect(r.err).toContain('hint: a plan written by abctl stays far below this');
    expect(r.rssMiB).toBeLessThan(150);
  }, 60_000);

  it('refuses one 50 MB attribute while streaming, in little memory', async () => {
    const plan = join(tmp.path, 'long.xml');
    await writeFile(plan, `${HEAD}    <property name="motd" value="${'a'.repeat(50_000_000)}"/>\n${TAIL}`);
    const r = validate(plan);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`error: ${plan}:4: a value is longer than ${MAX_PLAN_VALUE_CHARS} characters`));
    // It took 1.75 GB when the whole file went through xml2js.
    expect(r.rssMiB).toBeLessThan(200);
  }, 60_000);

  it('refuses more elements than the limit', () => {
    const many = Array.from({ length: MAX_PLAN_ELEMENTS }, (_, i) => `<property name="p${i}" value="x"/>`).join('\n');
    const err = refusal(() => parsePlan(`${HEAD}${many}\n${TAIL}`, 'many.xml'));
    expect(err.code).toBe('PLAN_TOO_LARGE');
    // The root and <appliance> are elements 1 and 2, on lines 2 and 3.
    expect(err.where).toBe(`many.xml:${MAX_PLAN_ELEMENTS + 2}`);
    expect(err.message).toBe(`the plan has more than ${MAX_PLAN_ELEMENTS} elements, the limit for one plan`);
  }, 60_000);

  it('refuses a long value that ends within the text given at once', () => {
    const err = refusal(() => parsePlan(`${HEAD}    <property name="motd" value="${'b'.repeat(MAX_PLAN_VALUE_CHARS + 1)}"/>\n${TAIL}`, 'p.xml'));
    expect([err.code, err.where, err.message]).toEqual(['PLAN_TOO_LARGE', 'p.xml:4', `attribute value of <property> is longer than ${MAX_PLAN_VALUE_CHARS} characters (1 Mi), the limit for one value in a plan`]);
  });

  it('refuses invalid UTF-8, naming the file', async () => {
    const plan = join(tmp.path, 'latin1.xml');
    await writeFile(plan, Buffer.concat([Buffer.from(`${HEAD}    <property name="motd" value="caf`), Buffer.from([0xe9]), Buffer.from(`"/>\n${TAIL}`)]));
    const r = validate(plan);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error: ${plan}: the plan file is not valid UTF-8`);
  }, 60_000);
});

describe('nothing in a plan is ignored', () => {
  it('refuses an unknown element inside <instances> and other attribute-only elements, and text in them', () => {
    let err = refusal(() => parsePlan(`${HEAD}    <instances count="1">\n      <bogus/>\n    </instances>\n${TAIL}`, 'p.xml'));
    expect([err.code, err.where, err.message]).toEqual(['PLAN_INVALID', 'p.xml:5', 'unknown element <bogus> in <instances>; <instances> holds attributes only']);
    err = refusal(() => parsePlan(`${HEAD}    <property name="motd"><value>x</value></property>\n${TAIL}`, 'p.xml'));
    expect(err.message).toBe('unknown element <value> in <property>; <property> holds attributes only');
    err = refusal(() => parsePlan(`${HEAD}    <host instance="1">web1</host>\n${TAIL}`, 'p.xml'));
    expect(err.message).toBe('<host> holds text "web1"; values go in attributes (e.g. value="...")');
  });

  it('refuses a DOCTYPE (no entity definitions at all)', () => {
    const err = refusal(() => parsePlan(`<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">]>\n<deploymentPlan formatVersion="1" assembly="shop"/>`, 'p.xml'));
    expect([err.where, err.message]).toEqual(['p.xml:2', 'the plan has a DOCTYPE declaration; plans do not use one']);
  });
});
