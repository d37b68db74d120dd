/**
 * Entry of the one-file agent (`abctl-agent.mjs`, bundled by scripts/build-agent.mjs):
 *
 *   node abctl-agent.mjs rehydrate|start|stop|ping|release [--bundle DIR] [--json] [--debug] [--key-stdin]
 *
 * `--key-stdin`: the first line of stdin is the bundle's key (bundle-key.ts), which decrypts its
 * password values in memory; abctl passes it so on every call. Without it, operations whose
 * plugins ask for no password still run, and one that asks fails with BUNDLE_KEY_MISSING.
 *
 * `--bundle` defaults to the directory holding the script (the bundle ships it). Exit codes:
 * 0 done (ping: healthy), 1 failed (ping: unhealthy), 2 internal error, 3 not supported by the
 * plugin chain, 130 interrupted. Arguments are parsed with node:util's parseArgs: the agent
 * carries no CLI framework.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AbError, PluginError, UserError, errorText } from '../../core/errors.js';
import { LIFECYCLE_OPERATIONS, type LifecycleOperation } from '../../core/lifecycle-contract.js';
import { JobInterrupted } from '../plugin-hooks.js';
import { redactorOf, runAgent, type AgentResult } from './agent.js';
import { AGENT_STEP_MARK, BUNDLE_MANIFEST } from './bundle-format.js';
import { BundleKey, KEY_LINE_MAX } from './bundle-key.js';
import { releaseVolumes } from './file-sets.js';
import { foregroundMain, notReady, pingBundle } from './foreground.js';

export const EXIT = Object.freeze({ ok: 0, failed: 1, internal: 2, notSupported: 3, interrupted: 130 });

const USAGE = `usage: node abctl-agent.mjs rehydrate|start|stop|ping|release [more operations...]|run [--bundle DIR] [--json] [--debug] [--exit-with-stdin] [--key-stdin] [--mounts-dir DIR] [--keep BUNDLE...]`;

/**
 * Not a plugin operation: before an instance is removed, unmount the volumes its rehydrate
 * mounted (recorded in --mounts-dir), except those a --keep bundle (an instance that stays on
 * this machine) also uses.
 */
const RELEASE = 'release';

/** How long a cancelled plugin call may take to let go before the agent exits anyway. */
const CALLER_GONE_GRACE_MS = 2000;
/** abctl writes the key as the agent starts; a caller that never does is not waited for longer. */
const KEY_WAIT_MS = 60_000;

/**
 * --key-stdin: the first line of stdin is the bundle key. Read before anything else, with a
 * limit on its length and on the wait; what follows on stdin is left to --exit-with-stdin.
 */
export function readKeyLine(stdin: NodeJS.ReadableStream, timeoutMs = KEY_WAIT_MS): Promise<BundleKey> {
  return new Promise<BundleKey>((resolve, reject) => {
    let got = Buffer.alloc(0);
    const fail = (why: string): void => {
      done();
      reject(new UserError('BUNDLE_KEY_MISSING', `--key-stdin: ${why}`, { where: 'stdin', hint: 'give the bundle key (base64, one line) as the first line of stdin, or leave --key-stdin out' }));
    };
    const onData = (chunk: Buffer | string): void => {
      got = Buffer.concat([got, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
      const end = got.indexOf(0x0a);
      if (end === -1) {
        if (got.length > KEY_LINE_MAX) fail(`the first line of stdin is longer than ${KEY_LINE_MAX} bytes`);
        return;
      }
      const line = got.toString('latin1', 0, end);
      done();
      try {
        resolve(BundleKey.parse(line, 'the first line of stdin'));
      } catch (err) {
        reject(err);
      }
    };
    const onEnd = (): void => fail('stdin ended before a whole first line (the key) came');
    const timer = setTimeout(() => fail(`no key line came within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onEnd);
      got.fill(0);
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onEnd);
  });
}

/**
 * --exit-with-stdin: the caller (abctl deploying over SSH, or locally) holds our stdin open
 * and writes nothing; end of file means it went away (killed, or its connection dropped).
 * The operation is then cancelled, and the process exits even if a plugin's timers would
 * keep it alive, so no agent runs on, detached from the command that started it.
 */
function exitWithStdin(controller: AbortController): () => void {
  const gone = (): void => {
    if (controller.signal.aborted) return;
    process.stderr.write('abctl agent: the calling abctl went away (stdin closed); stopping\n');
    controller.abort(new Error('the calling abctl went away'));
    setTimeout(() => process.exit(EXIT.interrupted), CALLER_GONE_GRACE_MS).unref();
  };
  process.stdin.on('end', gone);
  process.stdin.on('error', gone);
  process.stdin.resume();
  return () => {
    process.stdin.off('end', gone);
    process.stdin.off('error', gone);
    // Let the process end once the operation is done: an open stdin would keep it alive.
    process.stdin.destroy();
  };
}

export async function agentMain(argv: readonly string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  // `run`: the container entrypoint (foreground.ts), with its own signal handling.
  if (argv[0] === 'run') return foregroundMain(argv.slice(1), out, err);
  let json = false;
  let debug = false;
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let unwatch = (): void => {};
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        bundle: { type: 'string' },
        json: { type: 'boolean' },
        debug: { type: 'boolean' },
        help: { type: 'boolean' },
        'exit-with-stdin': { type: 'boolean' },
        'key-stdin': { type: 'boolean' },
        'mounts-dir': { type: 'string' },
        keep: { type: 'string', multiple: true },
      },
    });
    if (values['exit-with-stdin']) unwatch = exitWithStdin(controller);
    json = values.json === true;
    debug = values.debug === true;
    if (values.help) {
      out(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (positionals.length === 0 || !positionals.every((op) => op === RELEASE || (LIFECYCLE_OPERATIONS as readonly string[]).includes(op))) {
      throw new UserError('AGENT_USAGE', positionals.length === 0 ? 'no operation given' : `"${positionals.join(' ')}" is not an operation (or a list of them)`, { hint: USAGE });
    }
    let passwordKey: BundleKey | undefined;
    if (values['key-stdin']) {
      // Only the key is wanted from stdin unless --exit-with-stdin watches it: then let it go, or the process would wait on it.
      if (!values['exit-with-stdin']) unwatch = () => process.stdin.destroy();
      passwordKey = await readKeyLine(process.stdin);
    }
    const given = values.bundle ?? defaultBundleDir();
    const healthCheck = positionals.length === 1 && positionals[0] === 'ping';
    // A container's health check names the image's bundle; the ping reads what `run` keeps up
    // (foreground.ts), and fails while run's start chain has not finished.
    const waiting = healthCheck ? notReady(given) : undefined;
    if (waiting !== undefined) {
      out(json ? `${JSON.stringify({ operation: 'ping', supported: true, health: { healthy: false, message: waiting, answers: [] } })}\n` : `unhealthy: ${waiting}\n`);
      return EXIT.failed;
    }
    const bundleDir = healthCheck ? pingBundle(given) : given;
    // Several operations run in order in one process (deploy runs `rehydrate start`: one
    // Node.js start-up less per instance); a marker line on stderr says where each begins,
    // and the first that does not succeed ends the run with its exit code.
    const mountsDir = values['mounts-dir'];
    for (const op of positionals as (LifecycleOperation | typeof RELEASE)[]) {
      if (positionals.length > 1) err(`${AGENT_STEP_MARK} ${op}\n`);
      if (op === RELEASE) {
        // The framework's own step, no plugin hook: unmount what rehydrate mounted (file-sets.ts).
        const lines = await releaseVolumes(bundleDir, { keep: values.keep ?? [], log: (l) => err(`${l}\n`), ...(mountsDir !== undefined ? { mountsDir } : {}) });
        out(json ? `${JSON.stringify({ operation: RELEASE, released: lines })}\n` : `${RELEASE}: ${lines.length > 0 ? 'done' : 'no volume to unmount'}\n`);
        continue;
      }
      const result = await runAgent({ bundleDir, operation: op, signal: controller.signal, sink: (l) => err(`${l}\n`), debug, ...(mountsDir !== undefined ? { mountsDir } : {}), ...(passwordKey ? { passwordKey } : {}) });
      out(json ? `${JSON.stringify(result)}\n` : `${describe(result)}\n`);
      if (!result.supported) return EXIT.notSupported;
      if (result.health && !result.health.healthy) return EXIT.failed;
    }
    return EXIT.ok;
  } catch (e) {
    const known = e instanceof AbError || e instanceof JobInterrupted || (e as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
    const scrub = redactorOf(e);
    const text = e instanceof PluginError ? `error in plugin ${e.plugin}: ${e.describe()}` : known ? `error: ${errorText(e)}` : `internal error: ${errorText(e)}`;
    if (json) out(`${JSON.stringify({ error: { code: (e as { code?: unknown }).code ?? 'INTERNAL', message: scrub(errorText(e)) } })}\n`);
    err(`${scrub(text)}\n`);
    if (debug && e instanceof Error && e.stack) err(`${scrub(e.stack)}\n`);
    return e instanceof JobInterrupted ? EXIT.interrupted : known ? EXIT.failed : EXIT.internal;
  } finally {
    unwatch();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The bundle ships the agent at its top: with no --bundle, the script's own directory. */
function defaultBundleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  if (existsSync(join(here, BUNDLE_MANIFEST))) return here;
  throw new UserError('AGENT_USAGE', `no --bundle given and ${here} holds no ${BUNDLE_MANIFEST}`, { hint: USAGE });
}

export function describe(r: AgentResult): string {
  const who = `appliance ${r.appliance}`;
  if (!r.supported) return `${r.operation} of ${who}: not supported (no plugin of the chain implements ${r.operation}: ${r.skipped.join(', ')})`;
  if (r.health) return `${r.health.healthy ? 'healthy' : 'unhealthy'}: ${r.health.message}`;
  const ran = r.ran.length ? `ran ${r.ran.join(', ')}` : 'no plugin implements it (file sets only)';
  return `${r.operation} of ${who}: done (${ran})`;
}
