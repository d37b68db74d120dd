/**
 * Deploy's side of the host launcher (host-launcher-script.ts): one exec channel per SSH host
 * that carries every instance's bundle and agent, instead of a session (and a login shell) per
 * instance. Hand-written: a few framed messages over one stream, no library fits better.
 *
 * Frames, both ways: kind (1 byte), instance number (uint32 BE), length (uint32 BE), body.
 * To the host: A {unpack, agent, input?} starts the unpacking program (input: the agent's first stdin line), T carries archive bytes, E ends
 * them, K kills the instance's process group. From the host: H once it runs, O output (either
 * program's stdout and stderr), U the unpacking's exit code (0: the agent starts), X the agent's.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { SshHost } from '../host/ssh-host.js';
import { encodeFrame, frameReader, hostLauncher } from './host-launcher-script.js';

/** What the launcher said on stderr before it ended, kept for the reason it could not start. */
const KEEP_OUTPUT = 32 * 1024;
/** How long a killed instance may take to be reported gone before we stop waiting. */
const KILL_GRACE_MS = 5000;
/** The launcher's own channel lasts as long as the deploy; the limit only has to be finite. */
const LAUNCHER_LIFETIME_MS = 7 * 24 * 3600 * 1000;

/** `node -e` with the launcher's text: nothing to install or clean up on the host. */
export function launcherArgv(): string[] {
  return ['node', '-e', `(${hostLauncher.toString()})(require, ${encodeFrame.toString()}, ${frameReader.toString()})`];
}

export interface LaunchRun {
  /** The bundle as a tar stream, fed to `unpack` on the host. */
  readonly archive: Readable;
  /** The unpacking program's argv (it reads the archive on stdin). */
  readonly unpack: readonly string[];
  /** The agent's arguments after `node`. */
  readonly agent: readonly string[];
  /** Written to the agent's stdin as it starts (its key line); travels inside the A frame, never on a command line. */
  readonly input?: string;
  /** Limit for unpacking and the agent together. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Output once the bundle is in place (the unpacking's own included, when it said anything). */
  readonly onOutput: (chunk: Buffer) => void;
  readonly onShipped: () => void;
}

export interface LaunchResult {
  readonly shipped: boolean;
  /** The unpacking's exit code when not shipped, else the agent's; undefined when the launcher went away. */
  readonly exitCode: number | undefined;
  readonly stopped?: 'timeout' | 'abort';
  /** What the unpacking said, when it failed. */
  readonly shipOutput: string;
}

interface Pending {
  onFrame(kind: string, body: Buffer): void;
  lost(): void;
}

export class HostLauncher {
  readonly #input = new PassThrough();
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #ended = false;
  readonly #stop = new AbortController();
  #done: Promise<unknown> = Promise.resolve();

  private constructor() {}

  /** Resolves once the launcher runs on the host; rejects with why it could not start. */
  static async start(host: Pick<SshHost, 'runStreaming'>, opts: { startTimeoutMs: number; argv?: readonly string[] }): Promise<HostLauncher> {
    const l = new HostLauncher();
    let stderr = '';
    let hello: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (hello = resolve));
    const running = host
      .runStreaming(opts.argv ?? launcherArgv(), {
        timeoutMs: LAUNCHER_LIFETIME_MS,
        signal: l.#stop.signal,
        stdin: l.#input,
        onOutput: l.#reader(hello),
        onStderr: (c) => (stderr = (stderr + c.toString('utf8')).slice(-KEEP_OUTPUT)),
      })
      .finally(() => l.#end());
    l.#done = running.catch(() => undefined);
    const timer = new Promise<'late'>((resolve) => setTimeout(resolve, opts.startTimeoutMs, 'late').unref());
    const first = await Promise.race([started.then(() => 'up' as const), running, timer]);
    if (first === 'up') return l;
    l.#stop.abort();
    const why = first === 'late' ? `it did not report within ${Math.round(opts.startTimeoutMs / 1000)} s` : `it ended (exit ${first.exitCode ?? 'unknown'})`;
    throw new Error(`the host launcher did not start: ${why}${stderr.trim() ? `: ${stderr.trim().slice(-300)}` : ''}`);
  }

  /** Settles once the launcher's channel has closed. */
  get ended(): Promise<unknown> {
    return this.#done;
  }

  #reader(hello: () => void): (chunk: Buffer) => void {
    return frameReader((kind, id, body) => {
      if (kind === 'H') hello();
      else this.#pending.get(id)?.onFrame(kind, body);
    });
  }

  #end(): void {
    this.#ended = true;
    for (const p of [...this.#pending.values()]) p.lost();
  }

  #send(kind: string, id: number, body: Buffer | string = ''): boolean {
    if (this.#ended || this.#input.destroyed) return true;
    return this.#input.write(encodeFrame(kind, id, body));
  }

  /** Ships one instance's bundle and runs its agent; rejects only when reading the archive fails. */
  run(r: LaunchRun): Promise<LaunchResult> {
    const id = this.#next++;
    return new Promise<LaunchResult>((resolve, reject) => {
      let shipped = false;
      let before: Buffer = Buffer.alloc(0);
      let stopped: 'timeout' | 'abort' | undefined;
      let grace: NodeJS.Timeout | undefined;
      const finish = (exitCode: number | undefined, err?: unknown): void => {
        if (!this.#pending.delete(id)) return;
        clearTimeout(timer);
        clearTimeout(grace);
        r.signal?.removeEventListener('abort', onAbort);
        r.archive.destroy();
        if (err !== undefined) return reject(err);
        resolve({ shipped, exitCode, ...(stopped ? { stopped } : {}), shipOutput: before.toString('utf8') });
      };
      const kill = (why: 'timeout' | 'abort'): void => {
        if (stopped) return;
        stopped = why;
        this.#send('K', id);
        grace = setTimeout(() => finish(undefined), KILL_GRACE_MS);
      };
      const timer = setTimeout(() => kill('timeout'), r.timeoutMs);
      const onAbort = (): void => kill('abort');
      this.#pending.set(id, {
        lost: () => finish(undefined),
        onFrame: (kind, body) => {
          if (kind === 'O') {
            if (shipped) r.onOutput(body);
            else before = Buffer.concat([before, body]).subarray(-KEEP_OUTPUT);
          } else if (kind === 'U') {
            const code = Number(body.toString('latin1'));
            if (code !== 0) return finish(code);
            shipped = true;
            r.onShipped();
            // On success the unpacking says nothing; whatever came is worth keeping in the log.
            if (before.length > 0) r.onOutput(before);
          } else if (kind === 'X') finish(Number(body.toString('latin1')));
        },
      });
      if (this.#ended) return finish(undefined);
      if (r.signal?.aborted) {
        stopped = 'abort';
        return finish(undefined);
      }
      r.signal?.addEventListener('abort', onAbort, { once: true });
      this.#send('A', id, JSON.stringify({ unpack: r.unpack, agent: r.agent, ...(r.input !== undefined ? { input: r.input } : {}) }));
      r.archive.on('data', (c: Buffer) => {
        if (!this.#send('T', id, c)) {
          r.archive.pause();
          this.#input.once('drain', () => r.archive.resume());
        }
      });
      r.archive.once('end', () => this.#send('E', id));
      r.archive.once('error', (err) => {
        this.#send('K', id);
        finish(undefined, err);
      });
    });
  }

  /** Ends the launcher's input (each agent still running sees its stdin close) and waits a moment for it to go. */
  async close(): Promise<void> {
    this.#input.end();
    const timer = new Promise((resolve) => setTimeout(resolve, KILL_GRACE_MS).unref());
    await Promise.race([this.#done, timer]);
    this.#stop.abort();
  }
}
