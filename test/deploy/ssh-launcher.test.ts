/**
 * The host launcher (services/deploy/host-launcher.ts) on a real host (sshd in namespaces,
 * test/support/hosts.mjs): every instance's bundle and program through one session, a failing
 * one among good ones, a kill on time limit, agents ending when the connection drops, and the
 * per-instance sessions when the launcher cannot start. The "agents" here are small `node -e`
 * programs that, like the real agent's --exit-with-stdin, end when their stdin closes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshHost } from '../../services/host/ssh-host.js';
import { HostLauncher, type LaunchResult } from '../../services/deploy/host-launcher.js';
import { SshConnection } from '../../services/deploy/ssh-target.js';
import { tarDirectory } from '../../services/deploy/tar-dir.js';
import { startHosts, type TestHosts } from '../support/hosts.mjs';
import { tempDir } from '../helpers/plugins.js';

const UNTAR = ['tar', '-C', '/', '--recursive-unlink', '-xf', '-'];
/** Prints what its stdin starts with (the bundle key line the real agent reads with --key-stdin), after `prefix`'s file when named. */
const READS_FIRST_LINE = "process.stdin.once('data', (c) => { const f = process.argv[1]; process.stdout.write((f ? require('fs').readFileSync(f, 'utf8') : '') + 'first line: ' + c); process.exit(0); })";
/** Prints its pid file's content, then waits for its stdin to end (as --exit-with-stdin does). */
const WAITS_FOR_STDIN = "require('fs').writeFileSync(process.argv[1], String(process.pid)); process.stdin.on('end', () => process.exit(0)); process.stdin.resume()";

let hosts: TestHosts;
let tmp: { path: string; cleanup: () => Promise<void> };
let bundle: string;

beforeAll(async () => {
  hosts = await startHosts(1, { prefix: 'launch' });
  tmp = await tempDir('abctl-deploy-launcher-');
  bundle = join(tmp.path, 'bundle');
  await mkdir(bundle);
  await writeFile(join(bundle, 'hello.txt'), 'hello from the bundle\n');
  await writeFile(join(bundle, 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
}, 60_000);

afterAll(async () => {
  await hosts?.stop();
  await tmp?.cleanup();
});

function connect(): Promise<SshHost> {
  const h = hosts.hosts[0]!;
  return SshHost.connect(h.target.replace(/^ssh:\/\//, ''), { identityFile: hosts.identityFile, knownHostsFile: hosts.knownHostsFile, warmSftp: false, maxChannels: 8 });
}

/** Runs `agent` (node's arguments) after unpacking the test bundle at `dir` on the host; output collected. */
function launch(l: HostLauncher, dir: string, agent: readonly string[], timeoutMs = 20_000, input?: string): Promise<LaunchResult & { output: string; shippedSeen: boolean }> {
  let output = '';
  let shippedSeen = false;
  return l
    .run({ archive: tarDirectory(bundle, dir.slice(1)), unpack: UNTAR, agent, ...(input !== undefined ? { input } : {}), timeoutMs, onOutput: (c) => (output += c.toString('utf8')), onShipped: () => (shippedSeen = true) })
    .then((r) => ({ ...r, output, shippedSeen }));
}

const alive = async (pid: string): Promise<boolean> =>
  hosts.hosts[0]!.exec(['kill', '-0', pid]).then(
    () => true,
    () => false,
  );

async function gone(pid: string, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (!(await alive(pid))) return true;
  return false;
}

describe('the host launcher', () => {
  it('ships and runs several instances in one session; a failing unpack or agent does not stop the others', async () => {
    const host = await connect();
    try {
      // A file where one instance's directory goes: its tar fails, with tar's words.
      await hosts.hosts[0]!.exec(['sh', '-c', 'mkdir -p /var/lib/launch && echo x > /var/lib/launch/blocked']);
      const before = host.stats.sessions;
      const l = await HostLauncher.start(host, { startTimeoutMs: 20_000 });
      const cat = (n: number) => ['-e', `process.stdout.write(require('fs').readFileSync('/var/lib/launch/i${n}/hello.txt', 'utf8')); console.error('err ${n}'); process.exit(${n})`];
      const runs = await Promise.all([
        launch(l, '/var/lib/launch/i0', cat(0)),
        launch(l, '/var/lib/launch/blocked/i1', cat(1)),
        launch(l, '/var/lib/launch/i2', cat(2)),
        launch(l, '/var/lib/launch/i3', ['/var/lib/launch/no-such-agent.mjs']),
        launch(l, '/var/lib/launch/i4', cat(0)),
        // Leaves a process behind that holds its stdout open: its exit still counts.
        launch(l, '/var/lib/launch/i5', ['-e', "require('child_process').spawn('sleep', ['30'], { detached: true, stdio: 'inherit' }).unref(); console.log('left one'); process.exit(4)"]),
        // Given an input: the agent's stdin starts with it (how the bundle key travels: inside the frames).
        launch(l, '/var/lib/launch/i6', ['-e', READS_FIRST_LINE, '/var/lib/launch/i6/hello.txt'], 20_000, 'the-key-line\n'),
      ]);
      expect(runs.map((r) => [r.shipped, r.shippedSeen, r.exitCode])).toEqual([
        [true, true, 0],
        [false, false, 2],
        [true, true, 2],
        [true, true, 1],
        [true, true, 0],
        [true, true, 4],
        [true, true, 0],
      ]);
      expect(runs[6]!.output).toBe('hello from the bundle\nfirst line: the-key-line\n');
      expect(runs[5]!.output).toBe('left one\n');
      expect(runs[0]!.output).toBe('hello from the bundle\nerr 0\n');
      expect(runs[2]!.output).toBe('hello from the bundle\nerr 2\n');
      expect(runs[1]!.shipOutput).toMatch(/tar: .*Not a directory/);
      expect(runs[3]!.output).toMatch(/Cannot find module '\/var\/lib\/launch\/no-such-agent\.mjs'/);
      expect((await hosts.hosts[0]!.exec(['wc', '-c', '/var/lib/launch/i4/big.bin'])).trim()).toBe('3145728 /var/lib/launch/i4/big.bin');
      // One session for all seven, on top of what the connection had.
      expect(host.stats.sessions - before).toBe(1);
      await l.close();
    } finally {
      await host.close();
      await hosts.hosts[0]!.exec(['rm', '-rf', '/var/lib/launch']);
    }
  });

  it('kills an instance on its time limit and stops every agent when the connection drops', async () => {
    const host = await connect();
    let l: HostLauncher | undefined;
    try {
      l = await HostLauncher.start(host, { startTimeoutMs: 20_000 });
      // Ignores its stdin: only the kill (its process group) stops it.
      const stuck = launch(l, '/var/lib/launch/s', ['-e', "require('fs').writeFileSync('/var/lib/launch/s.pid', String(process.pid)); setInterval(() => {}, 1000)"], 1500);
      const waiting = [1, 2, 3].map((n) => launch(l!, `/var/lib/launch/w${n}`, ['-e', WAITS_FOR_STDIN, `/var/lib/launch/w${n}.pid`], 60_000));
      const r = await stuck;
      expect(r.stopped).toBe('timeout');
      const stuckPid = await hosts.hosts[0]!.exec(['cat', '/var/lib/launch/s.pid']);
      expect(await gone(stuckPid)).toBe(true);
      const pids = await Promise.all([1, 2, 3].map((n) => hosts.hosts[0]!.exec(['cat', `/var/lib/launch/w${n}.pid`])));
      for (const pid of pids) expect(await alive(pid)).toBe(true);
      // The connection goes (abctl killed or the network dropped): sshd closes the launcher's stdin.
      await host.close();
      for (const pid of pids) expect(await gone(pid)).toBe(true);
      // Each instance learns that the launcher went away: no exit status.
      for (const w of await Promise.all(waiting)) expect([w.shipped, w.exitCode]).toEqual([true, undefined]);
    } finally {
      await host.close();
      await hosts.hosts[0]!.exec(['rm', '-rf', '/var/lib/launch']);
    }
  }, 60_000);
});

describe('an SSH connection whose host launcher cannot start', () => {
  it('ships and runs each instance in a session of its own, and says so in the instance log', async () => {
    const host = await connect();
    const conn = new SshConnection(hosts.hosts[0]!.target, host, { launcher: ['node', '-e', "console.error('no launcher here'); process.exit(3)"] });
    try {
      const before = host.stats.sessions;
      const run = async (n: number) => {
        let output = '';
        let shipped = false;
        // The input follows the archive's exact size on the session's stdin: the agent reads it after tar has read its part.
        const code = await conn.shipAndRun(bundle, `/var/lib/launch/f${n}`, {
          args: ['-e', READS_FIRST_LINE, `/var/lib/launch/f${n}/hello.txt`],
          input: `key-of-f${n}\n`,
          timeoutMs: 20_000,
          shipTimeoutMs: 20_000,
          onOutput: (c) => (output += c.toString('utf8')),
          onShipped: () => (shipped = true),
        });
        return { code, output, shipped };
      };
      const runs = await Promise.all([run(1), run(2)]);
      for (const [k, r] of runs.entries()) {
        expect(r.code).toBe(0);
        expect(r.shipped).toBe(true);
        expect(r.output).toBe(`abctl: one SSH session for this instance: the host launcher did not start: it ended (exit 3): no launcher here\nhello from the bundle\nfirst line: key-of-f${k + 1}\n`);
      }
      // The launcher's try, then one per instance.
      expect(host.stats.sessions - before).toBe(3);
      // An agent run on its own (stop, ping) gets its input the same way, not on its command line.
      let output = '';
      const code = await conn.runNode({ args: ['-e', READS_FIRST_LINE], input: 'key-of-ping\n', timeoutMs: 20_000, onOutput: (c) => (output += c.toString('utf8')) });
      expect([code, output]).toEqual([0, 'first line: key-of-ping\n']);
    } finally {
      await conn.close();
      await hosts.hosts[0]!.exec(['rm', '-rf', '/var/lib/launch']);
    }
  });
});
