import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/index.js';
import { CATALOG_COMMANDS } from '../../cli/catalog-commands.js';
import { instanceLayout, projectRoot } from '../../services/instance.js';
import { tempDir } from '../helpers/plugins.js';
import { dbAppliance, webAppliance, wlsDomain } from '../metadata/fixtures.js';

// The built CLI (`npm test` builds first), as a user runs it.
const entry = join(projectRoot(), 'bin', 'abctl');

let tmp: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;

function abctl(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [entry, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8', cwd: tmp.path });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeEach(async () => {
  tmp = await tempDir();
  const instance = join(tmp.path, 'instance');
  env = { ...process.env, AB_INSTANCE: instance };
  delete env.AB_PROPERTY_VALUE;
  await new Catalog(instanceLayout(instance)).commit({ put: [webAppliance(), dbAppliance(), wlsDomain()] });
});
afterEach(() => tmp.cleanup());

describe('abctl catalog commands', () => {
  it('every catalog command has --help with its summary and options', () => {
    for (const c of CATALOG_COMMANDS) {
      const r = abctl([c.name, '--help']);
      expect(r.code, c.name).toBe(0);
      expect(r.out).toContain(`Usage: abctl ${c.name}`);
      expect(r.out.replace(/\s+/g, ' ')).toContain(c.summary);
      for (const o of c.options) expect(r.out).toContain(o.flags.split(' ')[0]);
    }
  }, 60_000);

  it('edits an assembly, masks passwords, writes and validates a plan end to end', async () => {
    let r = abctl(['describeCatalog', '--json']);
    expect(r.code, r.err).toBe(0);
    const cat = JSON.parse(r.out) as { appliances: { name: string }[]; assemblies: { name: string; kind: string }[] };
    expect(cat.appliances.map((a) => a.name).sort()).toEqual(['db', 'web']);
    expect(cat.assemblies).toMatchObject([{ name: 'domain', kind: 'atomicAssembly' }]);

    expect(abctl(['createAssembly', '--name', 'shop', '--description', 'web shop']).code).toBe(0);
    expect(abctl(['addToAssembly', '--assembly', 'shop', '--name', 'web']).code).toBe(0);
    // Single-dash long options, as in the reference CLI.
    expect(abctl(['addToAssembly', '-assembly', 'shop', '-name', 'db']).code).toBe(0);
    r = abctl(['connectEndpoints', '--assembly', 'shop', '--from', 'web/jdbc', '--to', 'db/sql']);
    expect([r.code, r.out]).toEqual([0, 'connected web/jdbc -> db/sql in assembly shop\n']);

    // Incompatible: what is missing, where, and how to fix it.
    r = abctl(['connectEndpoints', '--assembly', 'shop', '--from', 'web/ldap', '--to', 'db/sql']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error: assembly "shop" > connection "web/ldap -> db/sql": cannot connect "web/ldap" to "db/sql": input "sql" lacks connection property "bindPassword"');
    expect(r.err).toContain('hint:');

    r = abctl(['createExternalResource', '--assembly', 'shop', '--output', 'web/ldap', '--name', 'corp-ldap', '--type', 'ExternalLDAP', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ connected: { from: 'web/ldap', to: 'corp-ldap/ldap' } });
    expect(r.out).not.toContain('ldap-secret');
    expect(abctl(['addVnet', '--assembly', 'shop', '--name', 'backend', '--cidr', '10.1.0.0/24']).code).toBe(0);

    // Properties: by --appliance/--input, by --path; passwords never from argv.
    r = abctl(['setProperty', '--assembly', 'shop', '--appliance', 'web', '--input', 'http', '--property', 'port', '--value', '8081']);
    expect([r.code, r.out]).toEqual([0, 'assembly "shop" > appliance "web" > input "http": set port = 8081\n']);
    r = abctl(['setProperty', '--assembly', 'shop', '--path', 'db', '--property', 'db.password', '--value', 'argv-secret']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('never taken from the command line');
    expect(r.err).toContain('--value-file');
    r = abctl(['setProperty', '--assembly', 'shop', '--path', 'db', '--property', 'db.password'], { AB_PROPERTY_VALUE: 'env-secret-1' });
    expect([r.code, r.out]).toEqual([0, 'assembly "shop" > appliance "db": set db.password = ********\n']);
    await writeFile(join(tmp.path, 'pw.txt'), 'file-secret-2\n');
    r = abctl(['setProperty', '--assembly', 'shop', '--path', 'corp-ldap/input/ldap', '--property', 'bindPassword', '--value-file', 'pw.txt']);
    expect(r.code, r.err).toBe(0);
    r = abctl(['setProperty', '--assembly', 'shop', '--appliance', 'db', '--property', 'db.version', '--value', '16']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error: assembly "shop" > appliance "db" > property "db.version": cannot change system property "db.version": system properties are read-only for users');
    r = abctl(['setProperty', '--assembly', 'shop', '--appliance', 'web', '--input', 'http', '--property', 'port', '--value', 'abc']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('whole number');
    r = abctl(['unsetProperty', '--assembly', 'shop', '--path', 'web/input/http', '--property', 'host']);
    expect(r.code, r.err).toBe(0);

    // Describe: JSON and text, passwords masked, never in clear.
    r = abctl(['describeAssemblies', '--json']);
    expect(r.code, r.err).toBe(0);
    for (const secret of ['env-secret-1', 'file-secret-2', 'pg-secret-42', 'ldap-secret']) expect(r.out).not.toContain(secret);
    expect(r.out).toContain('"value": "********"');
    const shop = (JSON.parse(r.out) as { assemblies: { name: string; members: { name: string }[]; vnets: { name: string }[] }[] }).assemblies.find((a) => a.name === 'shop');
    expect(shop?.members.map((m) => m.name)).toEqual(['web', 'db', 'corp-ldap']);
    expect(shop?.vnets.map((v) => v.name)).toEqual(['default', 'backend']);
    r = abctl(['describeAssemblies', '--name', 'shop']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('db.password = ********');
    expect(r.out).toContain('connection web/jdbc -> db/sql');
    expect(r.out).not.toContain('env-secret-1');
    r = abctl(['describeAppliances']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('appliance web  (type tomcat, created by tomcat)');
    expect(r.out).not.toContain('pg-secret-42');
    // Nor in the catalog files.
    const dbDoc = await readFile(join(tmp.path, 'instance', 'catalog', 'assemblies', 'shop', 'members', 'db', 'appliance.xml'), 'utf8');
    expect(dbDoc).not.toContain('env-secret-1');

    // Deleting an appliance in use is refused.
    r = abctl(['deleteAppliance', '--name', 'web']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('appliance "web" cannot be deleted: assembly "shop" uses it');
    expect(r.err).toContain('hint: remove it first: abctl removeFromAssembly --assembly shop --member web');

    // The plan: written without clear passwords, then validated.
    r = abctl(['createDeploymentPlan', '--assembly', 'shop', '--out', 'plan.xml']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('wrote the deployment plan for assembly shop to plan.xml');
    expect(r.out).toContain('mount target "shared"');
    const planFile = join(tmp.path, 'plan.xml');
    let text = await readFile(planFile, 'utf8');
    for (const secret of ['env-secret-1', 'file-secret-2', 'pg-secret-42']) expect(text).not.toContain(secret);
    expect(text).toMatch(/name="db.password" type="password" required="true" value="enc:v1:/);
    expect(abctl(['createDeploymentPlan', '--assembly', 'shop', '--out', 'plan.xml']).err).toContain('--force');

    r = abctl(['validateDeploymentPlan', '--assembly', 'shop', '--plan', 'plan.xml']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^plan\.xml: 1 problem:\nplan\.xml:\d+: assembly "shop" > appliance "web" > mount target "shared": shared NFS file set "shared" needs a mount target/);

    // Several problems at once, each with its line.
    text = text
      .replace('fileSet="shared" target=""', 'fileSet="shared" target="nfs1:/export/shop"')
      .replace('<instances count="2" min="1" max="4"/>', '<instances count="9" min="1" max="4"/>')
      .replace('<property name="port" type="int" required="false" value="8081"/>', '<property name="port" type="int" required="false" value="http"/>')
      .replace(/(<appliance name="db">)/, '$1\n    <property name="db.version" type="string" value="16"/>');
    await writeFile(planFile, text);
    r = abctl(['validateDeploymentPlan', '--assembly', 'shop', '--plan', 'plan.xml', '--json']);
    expect(r.code).toBe(1);
    const v = JSON.parse(r.out) as { valid: boolean; problems: { code: string; line: number }[] };
    expect(v.valid).toBe(false);
    expect(v.problems.map((p) => p.code).sort()).toEqual(['PLAN_INSTANCES_OUT_OF_BOUNDS', 'PLAN_SYSTEM_PROPERTY', 'PLAN_VALUE_INVALID']);
    expect(v.problems.every((p) => Number.isInteger(p.line))).toBe(true);

    text = text.replace('count="9"', 'count="3"').replace('value="http"', 'value="8082"').replace(/\n {4}<property name="db.version" type="string" value="16"\/>/, '');
    await writeFile(planFile, text);
    r = abctl(['validateDeploymentPlan', '--assembly', 'shop', '--plan', 'plan.xml']);
    expect([r.code, r.out]).toEqual([0, 'plan.xml: the plan is valid for assembly shop\n']);

    // Clearing a required password makes the plan need one; setPlanPassword fills it in, encrypted.
    expect(abctl(['unsetProperty', '--assembly', 'shop', '--appliance', 'db', '--property', 'db.password']).code).toBe(0);
    r = abctl(['validateDeploymentPlan', '--assembly', 'shop', '--plan', 'plan.xml']);
    expect(r.code).toBe(0); // the plan still carries the (encrypted) password it was written with
    expect(abctl(['createDeploymentPlan', '--assembly', 'shop', '--out', 'plan2.xml']).code).toBe(0);
    const plan2 = await readFile(join(tmp.path, 'plan2.xml'), 'utf8');
    expect(plan2).toContain('abctl setPlanPassword -assembly shop -plan plan2.xml -path db -property db.password');
    // --value is refused with the ways that work, not commander's bare "unknown option"; the plan is left as it was.
    r = abctl(['setPlanPassword', '--assembly', 'shop', '--plan', 'plan2.xml', '--path', 'db', '--property', 'db.password', '--value', 'plan-secret-0']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('password values are never taken from the command line');
    expect(r.err).toContain('hint: use --value-file FILE, set AB_PROPERTY_VALUE, or leave both out to be asked');
    expect(await readFile(join(tmp.path, 'plan2.xml'), 'utf8')).toBe(plan2);
    expect(abctl(['setPlanPassword', '--help']).out).not.toContain('--value <');
    r = abctl(['setPlanPassword', '--assembly', 'shop', '--plan', 'plan2.xml', '--path', 'db', '--property', 'db.password'], { AB_PROPERTY_VALUE: 'plan-secret-3' });
    expect(r.code, r.err).toBe(0);
    expect(await readFile(join(tmp.path, 'plan2.xml'), 'utf8')).not.toContain('plan-secret-3');
    r = abctl(['validateDeploymentPlan', '--assembly', 'shop', '--plan', 'plan2.xml', '--json']);
    expect((JSON.parse(r.out) as { problems: { where: string }[] }).problems.map((p) => p.where)).toEqual(['assembly "shop" > appliance "web" > mount target "shared"']);
  }, 120_000);

  it('explains refusals: atomic assemblies, unknown objects, plans for non-assemblies, broken plan files', async () => {
    let r = abctl(['addToAssembly', '--assembly', 'domain', '--name', 'web']);
    expect(r.code).toBe(1);
    expect(r.err).toContain("users cannot add appliances: an atomic assembly's appliances and connections are fixed");
    r = abctl(['createDeploymentPlan', '--assembly', 'domain', '--out', 'p.xml']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('atomic assembly');
    r = abctl(['setProperty', '--assembly', 'nope', '--property', 'x', '--value', '1']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('there is no assembly "nope" in the catalog');
    expect(r.err).toContain('hint: see the assemblies with abctl describeAssemblies');
    expect(abctl(['createAssembly', '--name', 'shop']).code).toBe(0);
    expect(abctl(['addToAssembly', '--assembly', 'shop', '--name', 'db']).code).toBe(0);
    await writeFile(join(tmp.path, 'broken.xml'), '<deploymentPlan formatVersion="1" assembly="shop">\n  <appliance name="db">\n</deploymentPlan>\n');
    r = abctl(['validateDeploymentPlan', '--assembly', 'shop', '--plan', 'broken.xml']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: broken\.xml:3: not well-formed XML/);
    r = abctl(['setProperty', '--assembly', 'shop', '--path', 'db/input/nope', '--property', 'x', '--value', '1']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('appliance "db" has no input "nope"');
    expect(r.err).toContain('hint: its inputs: sql');
    expect(abctl(['deleteAssembly', '--name', 'shop']).code).toBe(0);
    expect(abctl(['deleteAppliance', '--name', 'db']).code).toBe(0);
  }, 60_000);
});
