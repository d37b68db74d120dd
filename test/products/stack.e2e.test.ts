/**
 * The three-tier walk-through (docs/walkthrough-three-tier.md), run as written: its `sh
 * walkthrough` blocks in order, in one `bash -euo pipefail`, in an empty directory, with this
 * checkout's abctl first on PATH and an instance directory of its own. Real everything: Debian's
 * PostgreSQL, Tomcat and nginx started as the page starts them, a real debootstrap base, real
 * podman. Then the page's cleanup blocks put the machine back (also after a failure), and the
 * wall time of every block is printed.
 *
 * It takes minutes, so it runs in its own vitest configuration (vitest.e2e.config.ts) after the
 * other tests: it starts Debian's default instances and edits their configuration, which other
 * tests' discovery would see. It needs root (it installs and starts system services) and podman.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../services/instance.js';
import { podmanAvailable } from '../support/podman.mjs';
import { walkthroughScript } from '../support/walkthrough.mjs';

const PAGE = join(projectRoot(), 'docs', 'walkthrough-three-tier.md');
/** The whole walk-through (a debootstrap and three images included) took 8.5 min here at load ~14. */
const LIMIT_MS = 45 * 60_000;

function skipReason(): string | undefined {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root: the walk-through installs and starts system services';
  const podman = podmanAvailable();
  if (!podman.ok) return podman.reason;
  return undefined;
}
const why = skipReason();

interface BlockTime {
  readonly n: number;
  readonly line: number;
  readonly heading: string;
  seconds: number;
}

/** Runs a script with bash; resolves with its exit code and output, timing each `::block` marker it prints. */
function runScript(script: string, cwd: string, env: NodeJS.ProcessEnv, flags: string[], timeoutMs: number): Promise<{ code: number | null; output: string; times: BlockTime[] }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [...flags, '-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const times: BlockTime[] = [];
    let started = Date.now();
    const take = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      output += text;
      for (const m of text.matchAll(/^::block (\d+) (\d+) "?(.*?)"?$/gm)) {
        const now = Date.now();
        const last = times.at(-1);
        if (last) last.seconds = (now - started) / 1000;
        started = now;
        times.push({ n: Number(m[1]), line: Number(m[2]), heading: m[3] ?? '', seconds: 0 });
        process.stderr.write(`[walkthrough] block ${m[1]} (line ${m[2]}, ${m[3]})${last ? `; the previous took ${last.seconds.toFixed(1)} s` : ''}\n`);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => {
      output += `\n[the walk-through did not finish within ${timeoutMs / 60_000} min and was stopped]\n`;
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = times.at(-1);
      if (last) last.seconds = (Date.now() - started) / 1000;
      resolve({ code, output, times });
    });
  });
}

describe.skipIf(why !== undefined)('the three-tier walk-through, run as written', () => {
  let work: string | undefined;
  let env: NodeJS.ProcessEnv;
  let cleaned = false;

  const cleanup = async (): Promise<void> => {
    if (cleaned || work === undefined) return;
    cleaned = true;
    const { script } = walkthroughScript(PAGE, { kind: 'cleanup' });
    // Without -e: every step of putting the machine back is tried, whatever failed before.
    const r = await runScript(script, work, env, [], 10 * 60_000);
    if (r.code !== 0) process.stderr.write(`[walkthrough] cleanup exited ${r.code}:\n${r.output.slice(-3000)}\n`);
    await rm(work, { recursive: true, force: true });
  };

  afterAll(cleanup, 15 * 60_000);

  it('installs, introspects, captures, deploys on podman, operates and removes the stack; every check of the page passes', async () => {
    work = await mkdtemp(join(tmpdir(), 'abctl-walkthrough-'));
    env = { PATH: `${join(projectRoot(), 'bin')}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, HOME: work, LANG: 'C.UTF-8', AB_INSTANCE: join(work, 'abctl-instance') };
    for (const k of ['TERM', 'TMPDIR']) if (process.env[k]) env[k] = process.env[k];
    const { script, blocks } = walkthroughScript(PAGE);
    expect(blocks.length).toBeGreaterThan(10);
    await writeFile(join(work, 'walkthrough.sh'), script);
    const started = Date.now();
    const r = await runScript(script, work, env, ['-euo', 'pipefail'], LIMIT_MS);
    const total = (Date.now() - started) / 1000;
    const table = r.times.map((t) => `  block ${String(t.n).padStart(2)} (line ${String(t.line).padStart(3)}) ${t.seconds.toFixed(1).padStart(7)} s  ${t.heading}`).join('\n');
    const load = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
    process.stdout.write(`[walkthrough] wall time per block (${total.toFixed(0)} s in all; ${load}):\n${table}\n`);
    if (r.code !== 0) {
      const failed = r.times.at(-1);
      throw new Error(`the walk-through failed in block ${failed?.n} (${PAGE}:${failed?.line}, "${failed?.heading}"), exit ${r.code}; the end of its output:\n${r.output.slice(-6000)}`);
    }
    expect(r.times.map((t) => t.n)).toEqual(blocks.filter((b) => b.kind === 'step').map((_, i) => i + 1));
    await cleanup();
  }, LIMIT_MS + 20 * 60_000);
});

// Said in the output when it cannot run here (the describe above is then reported as skipped).
if (why !== undefined) process.stderr.write(`[walkthrough] the three-tier walk-through is skipped: ${why}\n`);
