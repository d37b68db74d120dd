#!/usr/bin/env node
// Work over SSH as a user runs it, against `ssh host true` and the same introspection locally (issue 14).
// Usage: npm run build && node bench/ssh.mjs
//   BENCH_ROUNDS=N    interleaved rounds, medians reported (default 5)
//   BENCH_TRACE=1     also print every session, runner command and SFTP call of the last remote runs, with times
// Starts a private sshd on a loopback port (test/support/sshd.mjs, generated keys); each abctl run is a
// fresh process on a fresh instance with the bundled plugins; the example product is a copy of
// examples/minihttpd, found by the example plugin's discovery through AB_EXAMPLE_SEARCH.
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { startSshd } = await import('../test/support/sshd.mjs');
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const showTrace = process.env.BENCH_TRACE === '1';
const bin = join(root, 'bin', 'abctl');
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const tmp = await mkdtemp(join(tmpdir(), 'abctl-bench-ssh-'));
const sshd = await startSshd();
try {
  const search = join(tmp, 'search');
  const home = join(search, 'mh');
  await cp(join(root, 'examples', 'minihttpd'), home, { recursive: true });
  const traceFile = join(tmp, 'trace.jsonl');
  const hostArgs = ['--host', sshd.target, '--identity-file', sshd.identityFile, '--known-hosts', sshd.knownHostsFile];
  const baseEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AB_')) baseEnv[k] = v;
  Object.assign(baseEnv, { AB_BUNDLED_PLUGINS: join(root, 'plugins'), AB_EXAMPLE_SEARCH: search, AB_SSH_TRACE: traceFile, SSH_AUTH_SOCK: '' });
  const sshArgs = ['-p', String(sshd.port), '-i', sshd.identityFile, '-o', `UserKnownHostsFile=${sshd.knownHostsFile}`,
    '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', `${sshd.user}@127.0.0.1`];

  let instances = 0;
  const tools = {
    'ssh host true': { cmd: 'ssh', args: () => [...sshArgs, 'true'] },
    'abctl discover --host': { cmd: process.execPath, args: () => [bin, 'discover', ...hostArgs], check: (out) => out.includes(home) },
    'introspectexample, local': { cmd: process.execPath, args: () => [bin, 'introspectexample', '--home', home] },
    'introspectexample --host': { cmd: process.execPath, args: () => [bin, 'introspectexample', '--home', home, ...hostArgs] },
  };
  const samples = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
  const counts = {};
  const traces = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, tool] of Object.entries(tools)) {
      const instance = join(tmp, `instance-${++instances}`);
      await writeFile(traceFile, '');
      const t = process.hrtime.bigint();
      const r = spawnSync(tool.cmd, tool.args(), { env: { ...baseEnv, AB_INSTANCE: instance }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      if (r.status !== 0 || (tool.check && !tool.check(r.stdout))) {
        throw new Error(`${name} failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
      }
      samples[name].push(ms);
      const lines = (await readFile(traceFile, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
      if (lines.length > 0) {
        counts[name] = {
          connections: lines.length,
          sessions: lines.reduce((a, l) => a + l.sessions, 0),
          runnerCommands: lines.reduce((a, l) => a + l.runnerCommands, 0),
          sftpCalls: lines.reduce((a, l) => a + l.sftpCalls, 0),
        };
        traces[name] = lines;
      }
      await rm(instance, { recursive: true, force: true });
    }
  }

  const t = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  console.log(`ssh: sshd on 127.0.0.1:${sshd.port} (same machine); ${availableParallelism()} cores, load average ${load()}, median of ${rounds} interleaved round(s)`);
  for (const [name, ms] of Object.entries(t)) {
    const c = counts[name];
    const per = c ? `  ${c.connections} connection(s), ${c.sessions} sshd session(s), ${c.runnerCommands} runner command(s), ${c.sftpCalls} SFTP call(s)` : '';
    console.log(`  ${name.padEnd(26)} ${(ms / 1000).toFixed(2).padStart(6)} s  (${samples[name].map((x) => (x / 1000).toFixed(2)).join(' ')})${per}`);
  }
  const peer = t['ssh host true'];
  const discover = t['abctl discover --host'] / peer;
  const extra = t['introspectexample --host'] - t['introspectexample, local'];
  console.log(`  discover --host / ssh host true: ${discover.toFixed(2)}x (target <= 2.0x)`);
  console.log(`  introspection over SSH - local: ${(extra / 1000).toFixed(2)} s (target <= 1.00 s)`);
  if (showTrace) {
    for (const [name, lines] of Object.entries(traces)) {
      for (const line of lines) {
        console.log(`trace of the last "${name}" (${line.target}): connection begun ${line.connectAt} ms after the process started, handshake and login ${line.connectMs} ms, then open ${line.ms} ms; process ${samples[name].at(-1).toFixed(0)} ms in all`);
        for (const e of line.events) console.log(`  ${String(e.start.toFixed(0)).padStart(6)} ms +${String(e.ms?.toFixed(0) ?? '?').padStart(4)} ms  ${e.kind.padEnd(7)} ${e.what}`);
      }
    }
  }
} finally {
  await sshd.stop();
  await rm(tmp, { recursive: true, force: true });
}
