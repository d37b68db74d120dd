#!/usr/bin/env node
// Deployment time of 1 instance against 10 instances over SSH, in the same run.
// Usage: npm run build && node bench/deploy.mjs   (as root: the SSH hosts live in namespaces)
//   BENCH_HOSTS=H      SSH test hosts (default 2), each an sshd in its own namespaces (test/support/hosts.mjs)
//   BENCH_INSTANCES=N  the larger deployment (default 10)
//   BENCH_ROUNDS=R     rounds per size, interleaved, median reported (default 3)
//   BENCH_PARALLEL=P   instances worked on at once (default: deploy's own default, 8)
// Each round deploys a fresh deployment (bundle built, shipped as one tar stream, rehydrate and
// start through the agent, each instance's HTTP server answering) and undeploys it untimed.
// The agent is test/deploy/fixtures/test-agent.mjs: real processes, but no product files to
// extract, so the figure is deploy's own cost (connections, shipping, steps, parallelism).
// Target (issue 10): 10 instances take under 3x the time of 1.
// Each round also says what the deploy cost in CPU, untimed: on the hosts (sshd, login shells,
// tar, the agents and the servers they started: every process of the host's PID namespace,
// read from /proc once the sessions have ended) and in this process; over the machine's cores,
// that is the floor no scheduling could go below. And the PIDs used on the hosts (processes
// and their threads: each one is a fork, an exec or a thread start).
import 'reflect-metadata';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Container } = await import('inversify');
const { Catalog } = await import(join(repo, 'dist/catalog/index.js'));
const { catalogModule } = await import(join(repo, 'dist/services/catalog/module.js'));
const { createDeploymentPlan, formatPlan } = await import(join(repo, 'dist/core/deployment-plan/index.js'));
const { Appliance, Assembly } = await import(join(repo, 'dist/core/metadata/index.js'));
const { BundleWriter, DeploymentService, deployModule, localTargetModule, sshTargetModule } = await import(join(repo, 'dist/services/deploy/module.js'));
const { editingModule } = await import(join(repo, 'dist/services/editing/module.js'));
const { InstanceLayout, instanceLayout } = await import(join(repo, 'dist/services/instance.js'));
const { TestBundleWriter } = await import(join(repo, 'test/deploy/fixtures/test-bundles.mjs'));
const { startHosts } = await import(join(repo, 'test/support/hosts.mjs'));

const hostCount = Math.max(1, Number(process.env.BENCH_HOSTS ?? 2));
const big = Math.max(2, Number(process.env.BENCH_INSTANCES ?? 10));
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const parallel = process.env.BENCH_PARALLEL ? Number(process.env.BENCH_PARALLEL) : undefined;

const cores = availableParallelism();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Where the time went, from the progress events: until the first instance ships (connections,
 * Node.js check, host names), then the mean time per instance in each step (shipping includes
 * writing its bundle and, over SSH, starting the session that then runs the agent), and when the
 * last instance was running.
 */
function profile(events) {
  const steps = { shipping: [], rehydrating: [], starting: [] };
  const byId = new Map();
  for (const e of events) (byId.get(e.id) ?? byId.set(e.id, []).get(e.id)).push(e);
  for (const list of byId.values()) {
    for (let k = 0; k + 1 < list.length; k++) steps[list[k].status]?.push(list[k + 1].t - list[k].t);
  }
  const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const first = Math.min(...events.filter((e) => e.status === 'shipping').map((e) => e.t));
  const last = Math.max(...events.filter((e) => e.status === 'running').map((e) => e.t));
  return `connect ${first.toFixed(0)} ms; per instance: ship ${mean(steps.shipping).toFixed(0)}, rehydrate ${mean(steps.rehydrating).toFixed(0)}, start ${mean(steps.starting).toFixed(0)} ms; all running at ${last.toFixed(0)} ms`;
}

/**
 * CPU ms used so far by every process of a host's PID namespace (sshd is its init: it reaps
 * sessions and, once their sessions are gone, the servers they left), and the namespace's last
 * PID. Waits (up to 5 s, the hosts' own wait) for the sessions of the last command to end, so
 * their time is in.
 */
const HOST_CPU = `c=$(cat /proc/1/task/1/children); t=0; for p in 1 $c; do f=$(cut -d')' -f2 /proc/$p/stat 2>/dev/null) || continue; set -- $f; t=$((t + \${12} + \${13} + \${14} + \${15})); done
echo "$((t * 1000 / $(getconf CLK_TCK))) $(cut -d' ' -f5 /proc/loadavg | cut -d/ -f2)"`;
async function hostCpu(hosts) {
  const all = await Promise.all(
    hosts.map(async (h) => {
      await h.sessionsEnded(5000);
      return (await h.exec(['sh', '-c', HOST_CPU])).trim().split(' ').map(Number);
    }),
  );
  return { ms: all.reduce((a, [ms]) => a + ms, 0), pids: all.reduce((a, [, pid]) => a + pid, 0) };
}

async function deployment(dir, hosts, count, round) {
  const instance = join(dir, `i${count}-${round}`);
  const app = new Appliance({
    name: 'app',
    creator: 'bench',
    scalability: { min: 1, target: count, max: Math.max(count, 2), absoluteMax: 2000 },
    inputs: [{ name: 'http', port: 19000, protocols: ['HTTP'] }],
  });
  const site = new Assembly({ name: 'site' });
  site.addMember(app, 'user');
  await new Catalog(instanceLayout(instance)).commit({ put: [app, site] });
  const plan = createDeploymentPlan(site);
  const root = {
    ...plan.root,
    children: plan.root.children.map((c) => ({ ...c, hosts: Array.from({ length: count }, (_, k) => ({ instance: String(k + 1), hostname: '', address: '', target: hosts[k % hosts.length].target })) })),
  };
  const planFile = join(instance, 'plan.xml');
  await writeFile(planFile, formatPlan({ ...plan, root }, { file: planFile }));
  const container = new Container();
  container.bind(InstanceLayout).toConstantValue(instanceLayout(instance));
  container.load(catalogModule, editingModule, deployModule, localTargetModule, sshTargetModule);
  const bundles = new TestBundleWriter();
  // Several instances share a host (and its address): each listens on port + index - 1.
  bundles.portPerIndex = true;
  container.rebind(BundleWriter).toConstantValue(bundles);
  return { service: container.get(DeploymentService), planFile };
}

const dir = await mkdtemp(join(tmpdir(), 'abctl-bench-deploy-'));
const set = await startHosts(hostCount, { prefix: 'bench' });
const targetOptions = { identityFile: set.identityFile, knownHostsFile: set.knownHostsFile };
const times = { 1: [], [big]: [] };
try {
  console.log(`deploy over SSH: ${hostCount} hosts, 1 vs ${big} instances, ${rounds} round(s), parallel ${parallel ?? 'default (8)'}; load ${loadavg()[0].toFixed(2)}`);
  for (let r = 0; r < rounds; r++) {
    for (const n of [1, big]) {
      const { service, planFile } = await deployment(dir, set.hosts, n, r);
      const events = [];
      const cpu0 = await hostCpu(set.hosts);
      const local0 = process.cpuUsage();
      const t0 = performance.now();
      const res = await service.deploy({ assembly: 'site', planFile, targetOptions, onProgress: (e) => events.push({ ...e, t: performance.now() - t0 }), ...(parallel ? { parallel } : {}) });
      const ms = performance.now() - t0;
      const local = process.cpuUsage(local0);
      if (res.failures.length) throw new Error(`deploy of ${n} failed: ${JSON.stringify(res.failures, null, 2)}`);
      const cpu1 = await hostCpu(set.hosts);
      const hostMs = cpu1.ms - cpu0.ms;
      const localMs = (local.user + local.system) / 1000;
      times[n].push(ms);
      console.log(`  round ${r + 1}: ${String(n).padStart(3)} instance(s) ${(ms / 1000).toFixed(2)} s  (${profile(events)})`);
      console.log(`           cpu: hosts ${hostMs.toFixed(0)} ms (${(hostMs / n).toFixed(0)}/instance, ${((cpu1.pids - cpu0.pids) / n).toFixed(0)} pids/instance), here ${localMs.toFixed(0)} ms; floor on ${cores} cores ${((hostMs + localMs) / cores / 1000).toFixed(2)} s`);
      await service.undeploy('site', { targetOptions });
    }
  }
  const one = median(times[1]);
  const many = median(times[big]);
  console.log(`median: 1 instance ${(one / 1000).toFixed(2)} s, ${big} instances ${(many / 1000).toFixed(2)} s`);
  console.log(`ratio ${big} / 1: ${(many / one).toFixed(2)}x (target: under 3x)`);
} finally {
  // stop() lets the last sessions end before it kills what runs there (test/support/hosts.mjs).
  await set.stop();
  await rm(dir, { recursive: true, force: true });
}
