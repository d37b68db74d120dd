/**
 * What the podman target plays for one instance, without podman: the ConfigMap carries the
 * plan's values and the peers' bindings, never a password; the Secret carries the passwords
 * (base64, as podman 4.3 wants `data`); ports are published on 127.0.0.1 only.
 */
import { describe, expect, it } from 'vitest';
import { Appliance } from '../../core/metadata/index.js';
import { freeAddress, podName, podObjects } from '../../services/deploy/podman-target.js';
import { planWithTargets, siteAssembly } from '../deploy/helpers.js';
import { withPlanValues } from '../rehydration/bundle-fixture.js';

describe('podman pod objects', () => {
  const assembly = siteAssembly(8080, 8081, { portProperty: true });
  (assembly.getMember('app') as Appliance).properties.add({ name: 'db.password', type: 'password', category: 'user', value: 'pw-1' }, 'framework');
  const plan = withPlanValues(planWithTargets(assembly, { app: ['podman'], proxy: ['podman'] }), { app: { port: '9090' } });

  it('one ConfigMap with values and bindings, one Pod on 127.0.0.1, no Secret without passwords', () => {
    const bindings = { instance: { hostName: '', addresses: [], index: 2 }, outputs: { backend: [{ appliance: 'app', input: 'http', external: false, hostNames: ['d-app-1'], addresses: ['10.89.3.2'], port: 9090, properties: {} }] } };
    const o = podObjects({ deployment: 'D', id: 'proxy-2', appliance: 'proxy', index: 2, ports: [{ input: 'http', port: 8081 }], assembly, plan, bindings }, 'localhost/abctl/proxy:0123456789ab', '10.89.3.3', { http: 40123 }, 300);
    expect(o.pod).toBe('d-proxy-2');
    expect(o.secret).toBeUndefined();
    const [configMap, pod] = o.objects as [{ data: Record<string, string> }, { spec: { hostname: string; containers: { image: string; env: object[]; ports: object[] }[] } }];
    expect(JSON.parse(configMap.data['bindings.json'] as string)).toEqual({ instance: { hostName: 'd-proxy-2', addresses: ['10.89.3.3'], index: 2 }, outputs: bindings.outputs });
    expect(pod.spec.hostname).toBe('d-proxy-2');
    expect(pod.spec.containers[0]?.image).toBe('localhost/abctl/proxy:0123456789ab');
    expect(pod.spec.containers[0]?.env).toEqual([{ name: 'ABCTL_INSTANCE_INDEX', value: '2' }]);
    expect(pod.spec.containers[0]?.ports).toEqual([{ name: 'http', containerPort: 8081, hostPort: 40123, hostIP: '127.0.0.1', protocol: 'TCP' }]);
  });

  it('puts the plan\'s values in the ConfigMap and passwords only in the Secret', () => {
    const o = podObjects({ deployment: 'D', id: 'app-1', appliance: 'app', index: 1, ports: [{ input: 'http', port: 9090 }], assembly, plan, bindings: { instance: { hostName: '', addresses: [], index: 1 }, outputs: {} } }, 'img', '10.89.3.2', {}, 300);
    const text = JSON.stringify(o.objects);
    expect(text).not.toContain('pw-1');
    expect(JSON.parse((o.objects[0] as { data: Record<string, string> }).data['properties.json'] as string)).toMatchObject({ port: '9090' });
    const secret = o.secret as { data: Record<string, string> };
    expect(JSON.parse(Buffer.from(secret.data['properties.json'] as string, 'base64').toString('utf8'))).toEqual({ 'db.password': 'pw-1' });
    expect(JSON.stringify(o.objects[1])).toContain('"optional":false');
  });

  it('names pods as DNS labels and hands out free addresses after the gateway', () => {
    expect(podName('My_Site', 'tier.Web-12')).toBe('my-site-tier-web-12');
    expect(podName('x'.repeat(70), 'web-1').length).toBeLessThanOrEqual(63);
    expect(freeAddress('10.89.3.0/24', [])).toBe('10.89.3.2');
    expect(freeAddress('10.89.3.0/24', ['10.89.3.2', '10.89.3.4'])).toBe('10.89.3.3');
    expect(() => freeAddress('10.89.3.0/30', ['10.89.3.2'])).toThrow(/no free address/);
  });
});
