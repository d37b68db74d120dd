import { describe, expect, it } from 'vitest';
import {
  createDeploymentPlan,
  describePlanProblem,
  formatPlan,
  parsePlan,
  resolveObjectPath,
  setPlanPassword,
  validateDeploymentPlan,
  type DeploymentPlan,
  type PlanNode,
} from '../../core/deployment-plan/index.js';
import { UserError } from '../../core/errors.js';
import { Appliance, Assembly, AtomicAssembly, findMissingRequired } from '../../core/metadata/index.js';
import { wlsDomain } from '../metadata/fixtures.js';
import { fakeCodec, planAssembly } from './fixtures.js';

function find(n: PlanNode, ...path: string[]): PlanNode {
  let cur = n;
  for (const name of path) {
    const next = cur.children.find((c) => c.name === name);
    if (!next) throw new Error(`no plan node ${name} under ${cur.name}`);
    cur = next;
  }
  return cur;
}

/** Drops `line` (set only on parsed plans) and `file` so plans can be compared. */
function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'line' && k !== 'file').map(([k, v]) => [k, strip(v)]));
  }
  return value;
}

function catchError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('createDeploymentPlan', () => {
  const plan = createDeploymentPlan(planAssembly());

  it('lists every user property of every object with its current value, and no system property', () => {
    expect(plan.root.properties.map((p) => [p.name, p.value])).toEqual([['env', 'prod']]);
    const web = find(plan.root, 'web');
    expect(web.properties.map((p) => p.name)).toEqual(['admin.user', 'admin.password', 'heap.mb']);
    expect(web.properties.find((p) => p.name === 'heap.mb')).toMatchObject({ type: 'int', value: '512', required: false });
    expect(web.properties.find((p) => p.name === 'admin.user')).toMatchObject({ required: true, value: undefined, description: 'administrator login' });
    expect(find(plan.root, 'web', 'http').properties.map((p) => [p.name, p.value])).toEqual([['host', undefined], ['port', '8080']]);
    const db = find(plan.root, 'db');
    // The in-memory plan holds the password in clear; system property db.version is not there.
    expect(db.properties.map((p) => [p.name, p.value])).toEqual([['db.password', 'pg-secret-42']]);
    expect(find(plan.root, 'db', 'sql').properties.map((p) => p.name)).toEqual(['host', 'port', 'user']);
    // Inside the atomic assembly, the sub-assembly and the external resource.
    expect(find(plan.root, 'domain').kind).toBe('atomicAssembly');
    expect(find(plan.root, 'domain', 'admin', 't3').properties.map((p) => p.name)).toEqual(['host']);
    expect(find(plan.root, 'reporting', 'rdb').properties.map((p) => p.name)).toEqual(['db.password']);
    expect(find(plan.root, 'corp-ldap').kind).toBe('externalResource');
    expect(find(plan.root, 'corp-ldap', 'ldap').properties.map((p) => [p.name, p.value])).toEqual([
      ['host', undefined],
      ['port', '389'],
      ['bindPassword', 'ldap-secret'],
    ]);
    const all = JSON.stringify(plan);
    expect(all).not.toContain('db.version');
    expect(all).not.toContain('build.id');
  });

  it('lists fileRef properties separately, with the current URI and no file yet', () => {
    const web = find(plan.root, 'web');
    expect(web.fileRefs).toEqual([
      { name: 'serverConfig', required: false, description: 'Tomcat server.xml', current: 'contentresource:server.xml', file: undefined },
      { name: 'license', required: true, description: '', current: undefined, file: undefined },
    ]);
  });

  it('sets instance counts at the scalability target with the bounds, and one host placeholder per instance', () => {
    const web = find(plan.root, 'web');
    expect(web.instances).toEqual({ count: '2', min: 1, max: 4 });
    expect(web.hosts).toEqual([
      { instance: '1', hostname: '', address: '' },
      { instance: '2', hostname: '', address: '' },
    ]);
    expect(find(plan.root, 'db').instances).toEqual({ count: '1', min: 1, max: 1 });
    expect(find(plan.root, 'db').hosts).toHaveLength(1);
    expect(find(plan.root, 'domain', 'ms1').hosts).toHaveLength(1);
  });

  it('adds antiAffinity (default false) to scalable appliances only', () => {
    expect(find(plan.root, 'web').synthetic).toEqual([{ name: 'antiAffinity', value: 'false' }]);
    expect(find(plan.root, 'db').synthetic).toEqual([]);
  });

  it('asks for an NFS mount target for each shared NFS file set that takes it from the plan', () => {
    expect(find(plan.root, 'web').mountTargets).toEqual([
      { fileSet: 'shared', target: '', captured: true },
      { fileSet: 'media', target: '', captured: false },
    ]);
    expect(find(plan.root, 'db').mountTargets).toEqual([]);
  });

  it('refuses atomic assemblies, appliances and empty assemblies', () => {
    expect(catchError(() => createDeploymentPlan(wlsDomain() as unknown as Assembly)).code).toBe('NOT_DEPLOYABLE');
    expect(catchError(() => createDeploymentPlan(new Assembly({ name: 'empty' }))).message).toContain('empty');
    expect(catchError(() => createDeploymentPlan(planAssembly(), { isTopLevel: () => false })).message).toContain('top-level');
  });
});

describe('plan file', () => {
  it('round-trips: plan -> XML -> plan is identical, passwords only encrypted in the text', () => {
    const plan = createDeploymentPlan(planAssembly());
    const text = formatPlan(plan, { secrets: fakeCodec, file: 'plan.xml' });
    expect(text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>/);
    expect(text).toContain('<deploymentPlan formatVersion="1" assembly="shop">');
    expect(text).not.toContain('pg-secret-42');
    expect(text).not.toContain('ldap-secret');
    expect(text).toMatch(/name="db.password" type="password" required="true" value="enc:v1:/);
    const back = parsePlan(text, 'plan.xml', { secrets: fakeCodec });
    expect(strip(back)).toEqual(strip(plan));
    expect(back.file).toBe('plan.xml');
    // Lines point into the text.
    const db = find(back.root, 'db');
    expect(text.split('\n')[(db.line ?? 0) - 1]).toContain('<appliance name="db">');
  });

  it('writes passwords without a value (or without a key) blank, with a comment naming setPlanPassword', () => {
    const text = formatPlan(createDeploymentPlan(planAssembly()), { file: 'p.xml' });
    expect(text).not.toContain('pg-secret-42');
    expect(text).toContain('abctl setPlanPassword -assembly shop -plan p.xml -path web -property admin.password');
    expect(text).toContain('-path corp-ldap/input/ldap -property bindPassword');
    expect(text).toMatch(/<property name="db.password" type="password" required="true"\/>/);
    // Blank means "the metadata's value applies": the plan still validates for db.password.
    const problems = validateDeploymentPlan(planAssembly(), parsePlan(text, 'p.xml'));
    expect(problems.some((p) => p.message.includes('db.password'))).toBe(false);
  });

  it('explains synthetic properties, hosts, mount targets and fileRefs in comments', () => {
    const text = formatPlan(createDeploymentPlan(planAssembly()));
    expect(text).toContain('antiAffinity (boolean, plan only): true: no two instances');
    expect(text).toContain('<host instance="2" hostname="" address=""/>');
    expect(text).toContain('<mountTarget fileSet="media" target="" captured="false"/>');
    expect(text).toContain('<fileRef name="license" required="true" file=""/>');
    expect(text).toContain('<instances count="2" min="1" max="4"/>');
  });

  it('names file and line for XML that is not well-formed', () => {
    const err = catchError(() => parsePlan('<deploymentPlan formatVersion="1" assembly="a">\n  <appliance name="x">\n</deploymentPlan>\n', 'bad.xml'));
    expect(err.code).toBe('PLAN_INVALID');
    expect(err.where).toBe('bad.xml:3');
    expect(err.message).toContain('not well-formed');
  });

  it('names file and line for unknown elements and attributes, misplaced elements and versions', () => {
    const head = '<deploymentPlan formatVersion="1" assembly="a">\n';
    let err = catchError(() => parsePlan(`${head}  <appliance name="x">\n    <bogus/>\n  </appliance>\n</deploymentPlan>`, 'p.xml'));
    expect([err.where, err.message]).toEqual(['p.xml:3', 'unknown element <bogus> in <appliance>']);
    err = catchError(() => parsePlan(`${head}  <property name="x" vaule="1"/>\n</deploymentPlan>`, 'p.xml'));
    expect(err.where).toBe('p.xml:2');
    expect(err.message).toContain('unknown attribute "vaule"');
    err = catchError(() => parsePlan(`${head}  <instances count="1"/>\n</deploymentPlan>`, 'p.xml'));
    expect(err.message).toContain('inside an <appliance>');
    err = catchError(() => parsePlan(`${head}  <input name="i"/>\n</deploymentPlan>`, 'p.xml'));
    expect(err.message).toContain('<input> cannot be inside <deploymentPlan>');
    err = catchError(() => parsePlan('<deploymentPlan formatVersion="9" assembly="a"/>', 'p.xml'));
    expect(err.message).toContain('format version 9');
    err = catchError(() => parsePlan('<deploymentPlan assembly="a"/>', 'p.xml'));
    expect(err.message).toContain('no formatVersion');
    err = catchError(() => parsePlan('<assembly name="a"/>', 'p.xml'));
    expect(err.message).toContain('not a deployment plan');
    err = catchError(() => parsePlan('', 'p.xml'));
    expect(err.message).toContain('empty');
  });
});

describe('validateDeploymentPlan', () => {
  function fresh(): { plan: DeploymentPlan; text: string } {
    const plan = createDeploymentPlan(planAssembly());
    return { plan, text: formatPlan(plan, { secrets: fakeCodec, file: 'plan.xml' }) };
  }

  /** A fresh plan with every required value filled in: admin.user and the password as given. */
  function filled(user: string, password: string): DeploymentPlan {
    let text = fresh().text;
    text = text.replace('name="admin.user" type="string" required="true"', `name="admin.user" type="string" required="true" value="${user}"`);
    text = text.replace('<fileRef name="license" required="true" file=""/>', '<fileRef name="license" required="true" file="license.txt"/>');
    text = text.replace('fileSet="shared" target=""', 'fileSet="shared" target="nfs1:/export/shared"');
    text = text.replace('fileSet="media" target=""', 'fileSet="media" target="nfs1:/export/media"');
    return setPlanPassword(parsePlan(text, 'plan.xml', { secrets: fakeCodec }), planAssembly(), 'web', 'admin.password', password);
  }

  it('a fresh plan reports exactly the required values still missing, by object path and property', () => {
    const problems = validateDeploymentPlan(planAssembly(), fresh().plan);
    expect(problems.map((p) => [p.code, p.where])).toEqual([
      ['PLAN_MOUNT_TARGET_MISSING', 'assembly "shop" > appliance "web" > mount target "shared"'],
      ['PLAN_MOUNT_TARGET_MISSING', 'assembly "shop" > appliance "web" > mount target "media"'],
      ['PLAN_REQUIRED_MISSING', 'assembly "shop" > appliance "web" > property "license"'],
      ['PLAN_REQUIRED_MISSING', 'assembly "shop" > appliance "web" > property "admin.user"'],
      ['PLAN_REQUIRED_MISSING', 'assembly "shop" > appliance "web" > property "admin.password"'],
    ]);
    expect(problems[2]?.message).toBe('required property "license" has no value');
    expect(problems[2]?.hint).toBe('give it a value in the plan (or with abctl setProperty)');
    // A password cannot be written into the plan by hand (clear text is refused): the hint names the command that encrypts it.
    expect(problems[4]?.hint).toContain('it is a password: set it in the plan with abctl setPlanPassword');
  });

  it('an empty value of a required property counts as none: in the plan and in the metadata', () => {
    const problems = validateDeploymentPlan(planAssembly(), filled('', ''), { fileExists: (p) => p === 'license.txt' });
    expect(problems.map((p) => [p.code, p.where, p.message])).toEqual([
      ['PLAN_REQUIRED_MISSING', 'assembly "shop" > appliance "web" > property "admin.user"', 'required property "admin.user" is given an empty value, which counts as none'],
      ['PLAN_REQUIRED_MISSING', 'assembly "shop" > appliance "web" > property "admin.password"', 'required property "admin.password" is given an empty value, which counts as none'],
    ]);
    expect(problems[0]?.line).toBeGreaterThan(0);
    expect(problems[1]?.hint).toContain('abctl setPlanPassword');
    // In the metadata: an assembly whose required property holds "" needs a value: reported once,
    // whether the plan leaves the property out or carries the "" createDeploymentPlan copied.
    const assembly = planAssembly();
    (assembly.getMember('web') as Appliance).properties.set('admin.user', '', 'user');
    expect(findMissingRequired(assembly).map((m) => m.property)).toContain('admin.user');
    const fromMetadata = validateDeploymentPlan(assembly, createDeploymentPlan(assembly)).filter((p) => p.where.endsWith('property "admin.user"'));
    expect(fromMetadata.map((p) => p.code)).toEqual(['PLAN_REQUIRED_MISSING']);
  });

  it('accepts a plan that fills in every required value', () => {
    const plan = filled('ops', 's3cret');
    expect(validateDeploymentPlan(planAssembly(), plan, { fileExists: (p) => p === 'license.txt' })).toEqual([]);
    // The password went in encrypted.
    const written = formatPlan(plan, { secrets: fakeCodec });
    expect(written).not.toContain('s3cret');
    expect(parsePlan(written, 'p', { secrets: fakeCodec }).root.children.find((c) => c.name === 'web')?.properties.find((p) => p.name === 'admin.password')?.value).toBe('s3cret');
  });

  it('reports every kind of problem at once, each with its path and line', () => {
    let text = fresh().text;
    const edit = (from: string | RegExp, to: string) => {
      const next = text.replace(from, to);
      expect(next, String(from)).not.toBe(text);
      text = next;
    };
    edit('<property name="heap.mb" type="int" required="false" value="512"/>', '<property name="heap.mb" type="int" required="false" value="abc"/>');
    edit('<instances count="2" min="1" max="4"/>', '<instances count="7" min="1" max="4"/>\n    <property name="build.id" type="string" value="x"/>\n    <property name="nope" value="x"/>');
    edit('<synthetic name="antiAffinity" value="false"/>', '<synthetic name="antiAffinity" value="true"/>\n    <synthetic name="colour" value="red"/>');
    edit('<host instance="1" hostname="" address=""/>', '<host instance="1" hostname="h1.example" address="10.0.0.300"/>');
    edit('<host instance="2" hostname="" address=""/>', '<host instance="2" hostname="h1.example" address=""/>\n    <host instance="9" hostname="bad_name" address=""/>');
    edit('fileSet="shared" target=""', 'fileSet="shared" target="not-a-target"');
    edit('<fileRef name="license" required="true" file=""/>', '<fileRef name="license" required="true" file="missing.lic"/>');
    edit(/<property name="db.password" type="password" required="true" value="[^"]*"\/>/, '<property name="db.password" type="password" required="true" value="in-clear"/>');
    edit('<appliance name="rdb">', '<appliance name="rdb">\n      <property name="port" type="string" value="1"/>');
    edit('</deploymentPlan>', '  <appliance name="ghost"/>\n  <assembly name="web"/>\n</deploymentPlan>');
    edit('<property name="port" type="int" required="false" value="8080"/>', '<property name="port" type="string" required="false" value="8080"/>');
    const problems = validateDeploymentPlan(planAssembly(), parsePlan(text, 'plan.xml', { secrets: fakeCodec }), { fileExists: () => false });
    const lineOf = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const got = problems.map((p) => [p.code, p.where, p.line]);
    const web = 'assembly "shop" > appliance "web"';
    expect(got).toEqual(
      expect.arrayContaining([
        ['PLAN_VALUE_INVALID', `${web} > property "heap.mb"`, lineOf('value="abc"')],
        ['PLAN_INSTANCES_OUT_OF_BOUNDS', `${web} > instances`, lineOf('count="7"')],
        ['PLAN_SYSTEM_PROPERTY', `${web} > property "build.id"`, lineOf('"build.id"')],
        ['PLAN_UNKNOWN_PROPERTY', `${web} > property "nope"`, lineOf('"nope"')],
        ['PLAN_UNKNOWN_PROPERTY', `${web} > synthetic "colour"`, lineOf('colour')],
        ['PLAN_HOST_INVALID', `${web} > host 1`, lineOf('10.0.0.300')],
        ['PLAN_HOST_EXTRA', `${web} > host 9`, lineOf('bad_name')],
        ['PLAN_HOST_INVALID', `${web} > host 9`, lineOf('bad_name')],
        ['PLAN_MOUNT_TARGET_INVALID', `${web} > mount target "shared"`, lineOf('not-a-target')],
        ['PLAN_MOUNT_TARGET_MISSING', `${web} > mount target "media"`, lineOf('fileSet="media"')],
        ['PLAN_FILE_MISSING', `${web} > property "license"`, lineOf('missing.lic')],
        ['PLAN_PASSWORD_CLEAR', 'assembly "shop" > appliance "db" > property "db.password"', lineOf('in-clear')],
        ['PLAN_UNKNOWN_PROPERTY', 'assembly "shop" > assembly "reporting" > appliance "rdb" > property "port"', lineOf('<property name="port" type="string" value="1"/>')],
        ['PLAN_UNKNOWN_OBJECT', 'assembly "shop"', lineOf('"ghost"')],
        ['PLAN_UNKNOWN_OBJECT', 'assembly "shop"', lineOf('<assembly name="web"/>')],
        ['PLAN_TYPE_MISMATCH', `${web} > input "http" > property "port"`, lineOf('type="string" required="false" value="8080"')],
        ['PLAN_REQUIRED_MISSING', `${web} > property "admin.user"`, undefined],
      ]),
    );
    // antiAffinity with two instances on one host: instance 1 and 2 share h1.example, but the count is invalid so the target (2) is used.
    expect(got).toContainEqual(['PLAN_ANTI_AFFINITY', `${web} > host 2`, lineOf('<host instance="2" hostname="h1.example"')]);
    expect(problems.find((p) => p.code === 'PLAN_INSTANCES_OUT_OF_BOUNDS')?.message).toBe("instance count 7 is outside the appliance's bounds 1..4");
    expect(problems.find((p) => p.code === 'PLAN_VALUE_INVALID')?.message).toContain('whole number');
    expect(problems.find((p) => p.where.endsWith('"ghost"') || p.line === lineOf('"ghost"'))?.hint).toContain('web (appliance)');
    // Rendering for people: file, line, path, message, hint.
    const clear = problems.find((p) => p.code === 'PLAN_PASSWORD_CLEAR');
    expect(clear && describePlanProblem(clear, 'plan.xml')).toMatch(/^plan\.xml:\d+: assembly "shop" > appliance "db" > property "db.password": the password is written in clear text.*\n {2}hint: .*setPlanPassword/s);
    // Nothing in any message shows a password.
    expect(JSON.stringify(problems)).not.toContain('in-clear');
  });

  it('reports a non-integer count, a count below min, a synthetic on a non-scalable appliance, hosts when required', () => {
    let text = fresh().text;
    text = text.replace('<instances count="2" min="1" max="4"/>', '<instances count="two" min="1" max="4"/>');
    text = text.replace(/(<appliance name="db">)/, '$1\n    <synthetic name="antiAffinity" value="true"/>');
    const problems = validateDeploymentPlan(planAssembly(), parsePlan(text, 'p', { secrets: fakeCodec }), { requireHosts: true });
    const codes = problems.map((p) => `${p.code} ${p.where}`);
    expect(codes).toContain('PLAN_VALUE_INVALID assembly "shop" > appliance "web" > instances');
    expect(codes).toContain('PLAN_NOT_ALLOWED assembly "shop" > appliance "db" > synthetic "antiAffinity"');
    expect(codes).toContain('PLAN_HOST_MISSING assembly "shop" > appliance "db" > host 1');
    expect(codes).toContain('PLAN_HOST_MISSING assembly "shop" > appliance "web" > host 2');
  });

  it('with requireHosts, wants what deploy needs: a target for each instance, its own or another line\'s of the appliance', () => {
    const base = fresh().text;
    const lineOf = (needle: string, t: string) => t.split('\n').findIndex((l) => l.includes(needle)) + 1;
    // A host name alone passed before, and deploy then refused the plan (DEPLOY_NO_TARGET).
    let text = base.replace('<host instance="1" hostname="" address=""/>', '<host instance="1" hostname="h1.example" address="10.0.0.1"/>');
    let missing = validateDeploymentPlan(planAssembly(), parsePlan(text, 'p', { secrets: fakeCodec }), { requireHosts: true }).filter((p) => p.code === 'PLAN_HOST_MISSING');
    expect(missing.find((p) => p.line === lineOf('h1.example', text))?.hint).toContain('add target="local", target="ssh://user@host:22"');
    // One target on the appliance places every instance (in turn), as deploy does.
    text = text.replace('hostname="h1.example" address="10.0.0.1"/>', 'hostname="h1.example" address="10.0.0.1" target="ssh://root@h1.example"/>');
    missing = validateDeploymentPlan(planAssembly(), parsePlan(text, 'p', { secrets: fakeCodec }), { requireHosts: true }).filter((p) => p.code === 'PLAN_HOST_MISSING');
    expect(missing.some((p) => p.line === lineOf('h1.example', text))).toBe(false);
  });

  it('reports a plan made for another assembly and a password another key encrypted', () => {
    const text = fresh().text.replace('assembly="shop"', 'assembly="other"').replace(/(name="db.password" type="password" required="true" value=")[^"]*/, `$1enc:v1:${Buffer.from('k2:x').toString('base64')}`);
    const problems = validateDeploymentPlan(planAssembly(), parsePlan(text, 'p', { secrets: fakeCodec }));
    expect(problems.map((p) => p.code)).toContain('PLAN_ASSEMBLY_MISMATCH');
    expect(problems.find((p) => p.code === 'PLAN_PASSWORD_UNREADABLE')?.where).toBe('assembly "shop" > appliance "db" > property "db.password"');
  });

  it('reports a required system property without a value as something the plugin must fix', () => {
    const a = planAssembly();
    (a.getMember('db') as Appliance).properties.add({ name: 'db.cluster', category: 'system', required: true }, 'plugin');
    const problems = validateDeploymentPlan(a, createDeploymentPlan(a));
    const p = problems.find((x) => x.where.endsWith('property "db.cluster"'));
    expect(p?.code).toBe('PLAN_REQUIRED_MISSING');
    expect(p?.hint).toContain('system property');
  });
});

describe('object paths and setPlanPassword', () => {
  it('resolves members, nested members, endpoints and interfaces, and explains what is wrong', () => {
    const a = planAssembly();
    expect(resolveObjectPath(a, '').where).toBe('assembly "shop"');
    expect(resolveObjectPath(a, 'reporting/rdb').where).toBe('assembly "shop" > assembly "reporting" > appliance "rdb"');
    expect(resolveObjectPath(a, 'web/input/http').where).toBe('assembly "shop" > appliance "web" > input "http"');
    expect(resolveObjectPath(a, 'web/interface/eth0:1').kind).toBe('interface');
    expect(resolveObjectPath(a, 'domain/ms1/output/admin').where).toBe('assembly "shop" > atomic assembly "domain" > appliance "ms1" > output "admin"');
    expect(resolveObjectPath(a, 'corp-ldap/input/ldap').properties.has('bindPassword')).toBe(true);
    expect(resolveObjectPath(a.getMember('web') as Appliance, 'input/http').where).toBe('appliance "web" > input "http"');
    expect(catchError(() => resolveObjectPath(a, 'nope')).hint).toContain('its members: web, db');
    expect(catchError(() => resolveObjectPath(a, 'web/port')).message).toContain('input/NAME, output/NAME, interface/NAME');
    expect(catchError(() => resolveObjectPath(a, 'web/input/x')).hint).toBe('its inputs: http');
    expect(catchError(() => resolveObjectPath(a, 'web/input/http/more')).message).toContain('nothing can follow');
    expect(catchError(() => resolveObjectPath(a, 'corp-ldap/output/x')).message).toContain('input/NAME');
  });

  it('setPlanPassword refuses non-password and system properties', () => {
    const a = planAssembly();
    const plan = createDeploymentPlan(a);
    expect(catchError(() => setPlanPassword(plan, a, 'web', 'heap.mb', 'x')).code).toBe('PROPERTY_TYPE_MISMATCH');
    expect(catchError(() => setPlanPassword(plan, a, 'web', 'build.id', 'x')).code).toBe('PROPERTY_READ_ONLY');
    expect(catchError(() => setPlanPassword(plan, a, 'web', 'missing', 'x')).code).toBe('PROPERTY_UNKNOWN');
    const next = setPlanPassword(plan, a, 'corp-ldap/input/ldap', 'bindPassword', 'new');
    expect(find(next.root, 'corp-ldap', 'ldap').properties.find((p) => p.name === 'bindPassword')?.value).toBe('new');
  });

  it('covers atomic assemblies inside assemblies (siblings take mount targets from their primary)', () => {
    const atomic = new AtomicAssembly({ name: 'pair', creator: 'x' });
    atomic.addAppliance(
      new Appliance({ name: 'one', creator: 'x', scalability: { min: 1, target: 2, max: 3, absoluteMax: 3 }, fileSets: [{ name: 'v', root: '/v', scope: 'shared', sharedType: 'NFS', captured: false }] }),
      'plugin',
    );
    atomic.createSibling({ name: 'two', creator: 'x' }, 'plugin');
    const a = new Assembly({ name: 'top', members: [atomic] });
    const plan = createDeploymentPlan(a);
    expect(find(plan.root, 'pair', 'one').mountTargets).toHaveLength(1);
    expect(find(plan.root, 'pair', 'two').mountTargets).toHaveLength(0);
    const problems = validateDeploymentPlan(a, plan);
    expect(problems.map((p) => p.where)).toEqual(['assembly "top" > atomic assembly "pair" > appliance "one" > mount target "v"']);
  });
});
