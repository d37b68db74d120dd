import { describe, expect, it } from 'vitest';
import { formatPlan, parsePlan, validateDeploymentPlan } from '../../core/deployment-plan/index.js';
import { UserError } from '../../core/errors.js';
import { Appliance, Assembly } from '../../core/metadata/index.js';
import { appliancesOf, clientsOf, linksOf, placeInstance, startOrder } from '../../services/deploy/topology.js';
import { planWithTargets, siteAssembly } from './helpers.js';

function chain(): Assembly {
  // web -> app -> db, and web -> db: db first, then app, then web.
  const a = new Assembly({ name: 'three' });
  a.addMember(new Appliance({ name: 'db', creator: 'x', inputs: [{ name: 'sql', port: 5432, protocols: ['SQL'] }] }));
  a.addMember(new Appliance({ name: 'app', creator: 'x', inputs: [{ name: 'http', port: 80, protocols: ['HTTP'] }], outputs: [{ name: 'db', protocol: 'SQL' }] }));
  a.addMember(new Appliance({ name: 'web', creator: 'x', outputs: [{ name: 'app', protocol: 'HTTP' }, { name: 'db', protocol: 'SQL' }] }));
  a.connect('app/db', 'db/sql', 'user');
  a.connect('web/app', 'app/http', 'user');
  a.connect('web/db', 'db/sql', 'user');
  return a;
}

describe('deployment topology', () => {
  it('starts each appliance after what it connects to', () => {
    const a = chain();
    const plan = planWithTargets(a, {});
    const slots = appliancesOf(a, plan);
    const links = linksOf(a, slots);
    expect(startOrder(slots, links)).toEqual([['db'], ['app'], ['web']]);
    expect(clientsOf('db', links)).toEqual(['app', 'web']);
  });

  it('reports a cycle with its members', () => {
    const a = new Assembly({ name: 'loop' });
    a.addMember(new Appliance({ name: 'a', creator: 'x', inputs: [{ name: 'in', port: 1, protocols: ['P'] }], outputs: [{ name: 'out', protocol: 'P' }] }));
    a.addMember(new Appliance({ name: 'b', creator: 'x', inputs: [{ name: 'in', port: 2, protocols: ['P'] }], outputs: [{ name: 'out', protocol: 'P' }] }));
    a.connect('a/out', 'b/in', 'user');
    a.connect('b/out', 'a/in', 'user');
    const slots = appliancesOf(a, planWithTargets(a, {}));
    const err = (() => {
      try {
        startOrder(slots, linksOf(a, slots));
      } catch (e) {
        return e;
      }
    })() as UserError;
    expect(err.code).toBe('DEPLOY_CYCLE');
    expect(err.message).toMatch(/cycle, so no start order exists: (a -> b -> a|b -> a -> b)/);
  });

  it('places instances on their own host line, else round-robin over the appliance targets', () => {
    const site = siteAssembly(8080, 8081);
    const plan = planWithTargets(site, { app: ['ssh://root@h1', 'ssh://root@h2'] });
    const app = appliancesOf(site, plan).find((s) => s.key === 'app');
    if (!app) throw new Error('no app');
    expect([1, 2, 3, 4].map((i) => placeInstance(app, i))).toEqual(['ssh://root@h1', 'ssh://root@h2', 'ssh://root@h1', 'ssh://root@h2']);
  });

  it('plans carry targets through XML; validation accepts spares with a target and refuses a bad target', () => {
    const site = siteAssembly(8080, 8081);
    const plan = planWithTargets(site, { app: ['local', 'ssh://root@10.0.0.2:2222', 'ssh://deploy@[::1]:22'], proxy: ['ftp://x'] });
    const text = formatPlan(plan, { file: 'p.xml' });
    expect(text).toContain('<host instance="2" hostname="" address="" target="ssh://root@10.0.0.2:2222"/>');
    const back = parsePlan(text, 'p.xml');
    const problems = validateDeploymentPlan(site, back, { requireHosts: true });
    expect(problems.map((p) => [p.code, p.where])).toEqual([['PLAN_HOST_INVALID', 'assembly "site" > appliance "proxy" > host 1']]);
    expect(problems[0]?.message).toContain('target "ftp://x" is not "local", "podman", "kubernetes:CONTEXT" or an ssh://user@host[:port] URL');
  });
});
