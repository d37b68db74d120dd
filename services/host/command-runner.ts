/**
 * Commands without a session each. Every SSH exec channel makes sshd fork a session and start
 * the user's login shell, which costs a round trip and a few hundred ms on a busy host; a job
 * runs dozens of small commands (`ps`, `nginx -V`, `find`...). So SshHost keeps a few long-lived
 * POSIX `sh` processes ("runners"), one per exec channel, that read framed requests on their
 * stdin and run each command as a child of their own:
 *
 * - request: a header line `NONCE LINES`, then LINES lines of shell script (built here: it reads
 *   the environment values into shell variables, then starts the command in the background), then
 *   the environment values, one line each, read by that script — never on a command line;
 * - the command runs in a subshell that exports the variables, enters the working directory and
 *   exec()s `setsid COMMAND...` with stdin from /dev/null: its own session and process group, so a
 *   timeout kills what it started too, and nothing else;
 * - the runner writes `NONCE P PID` on stderr once the command has started, then waits for it and
 *   writes `NONCE X STATUS` on stdout and `NONCE E` on stderr. The command's own bytes pass through
 *   unchanged (binary-safe); the nonce is random per command, so output cannot fake an end.
 *
 * One command at a time per runner; SshHost holds a small pool. A runner that cannot start (no
 * `sh` or `setsid` on the host) makes SshHost fall back to one exec channel per command.
 * Commands fed with `input`, and streaming commands, keep their own channel.
 *
 * Limit: a command that leaves a background process writing to its stdout or stderr after it
 * has exited would have those late bytes dropped here (with a channel of its own they would
 * be kept until the process closed them); read-only probes do not do that.
 */
import { randomBytes } from 'node:crypto';
import type { ClientChannel } from 'ssh2';
import { shellQuote } from './common.js';

/** The runner itself: the command line of its exec channel (no secrets in it). */
export const RUNNER_SCRIPT = [
  'command -v setsid >/dev/null 2>&1 || { echo "abctl command runner: setsid not found" >&2; exit 3; }',
  'echo abctl-runner-1',
  'while IFS=" " read -r t n; do',
  ' s=; while [ "$n" -gt 0 ]; do IFS= read -r l || exit 0; s="$s$l',
  '"; n=$((n - 1)); done',
  ' eval "$s"',
  ' printf "%sP%s\\n" "$t" "$!" >&2',
  ' wait "$!"',
  ' printf "%sX%s\\n" "$t" "$?"',
  ' printf "%sE\\n" "$t" >&2',
  'done',
].join('\n');

export const RUNNER_READY = Buffer.from('abctl-runner-1\n');

/** The exec line that starts a runner, whatever the login shell. */
export function runnerLine(): string {
  return `exec sh -c ${shellQuote(RUNNER_SCRIPT)}`;
}

export interface RunnerRequest {
  readonly nonce: string;
  /** Header, script and environment values, to write to the runner's stdin at once. */
  readonly bytes: Buffer;
}

/**
 * The request for one command. `env` entries must be checked already (valid names, no NUL);
 * `cwdScript` is the shell text that enters the working directory (or '').
 */
export function runnerRequest(command: readonly string[], env: readonly (readonly [string, string])[], cwdScript: string): RunnerRequest {
  const nonce = randomBytes(16).toString('hex');
  const reads: string[] = [];
  const exports: string[] = [];
  const values: string[] = [];
  env.forEach(([name, value], i) => {
    const v = `_abctl_v${i}`;
    // Same encoding as remote-env.ts: only a newline or a backslash needs it.
    const encode = /[\\\n]/.test(value);
    values.push(encode ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : value);
    reads.push(`IFS= read -r ${v} || exit 0`);
    exports.push(encode ? `${name}=$(printf '%bx' "$${v}"); ${name}=\${${name}%x}; export ${name};` : `${name}=$${v}; export ${name};`);
  });
  const run = `( ${exports.join(' ')} ${cwdScript} exec setsid ${command.map(shellQuote).join(' ')} </dev/null ) &`;
  const script = [...reads, run, ...(env.length > 0 ? [`unset ${env.map((_, i) => `_abctl_v${i}`).join(' ')}`] : [])].join('\n') + '\n';
  const lines = script.split('\n').length - 1;
  const text = `${nonce} ${lines}\n${script}${values.map((v) => `${v}\n`).join('')}`;
  return { nonce, bytes: Buffer.from(text, 'utf8') };
}

const EMPTY = Buffer.alloc(0);

/**
 * Finds `NONCE<tag><value>\n` markers in one output stream of a runner and passes every other
 * byte on. Bytes that could be the start of a nonce are held back until the next chunk says.
 */
export class MarkerSplitter {
  private held = EMPTY;
  private readonly nonce: Buffer;

  constructor(
    nonce: string,
    private readonly out: (chunk: Buffer) => void,
    private readonly marker: (tag: string, value: string) => void,
  ) {
    this.nonce = Buffer.from(nonce, 'latin1');
  }

  push(chunk: Buffer): void {
    let buf = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    for (;;) {
      const at = buf.indexOf(this.nonce);
      if (at === -1) {
        const keep = this.partialAtEnd(buf);
        this.emit(buf.subarray(0, buf.length - keep));
        this.held = keep === 0 ? EMPTY : Buffer.from(buf.subarray(buf.length - keep));
        return;
      }
      const nl = buf.indexOf(0x0a, at + this.nonce.length);
      if (nl === -1) {
        this.emit(buf.subarray(0, at));
        this.held = Buffer.from(buf.subarray(at));
        return;
      }
      this.emit(buf.subarray(0, at));
      const body = buf.toString('latin1', at + this.nonce.length, nl);
      buf = buf.subarray(nl + 1);
      this.marker(body.slice(0, 1), body.slice(1));
    }
  }

  /** How many bytes at the end of `buf` could begin a nonce (so that most chunks pass without a copy). */
  private partialAtEnd(buf: Buffer): number {
    for (let k = Math.min(buf.length, this.nonce.length - 1); k > 0; k--) {
      if (buf.compare(this.nonce, 0, k, buf.length - k) === 0) return k;
    }
    return 0;
  }

  private emit(b: Buffer): void {
    if (b.length > 0) this.out(b);
  }
}

/** What the caller of a runner command gets told as the command goes. */
export interface RunnerCommandHandlers {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  /** The command's pid (its process group's id) on the host. */
  started(pid: number): void;
  /** Exit status; or undefined with `lost` when the runner ended before the command did. */
  finished(exitCode: number | undefined, lost?: string): void;
}

/**
 * One runner on its exec channel. `ready` settles once the runner has said it runs (false when
 * the channel ended first: the host cannot run one). Runs one command at a time.
 */
export class Runner {
  readonly ready: Promise<boolean>;
  private current: { handlers: RunnerCommandHandlers; out: MarkerSplitter; err: MarkerSplitter; status?: number; outDone: boolean; errDone: boolean } | undefined;
  private stderrText = '';
  private dead = false;
  private readyBytes = EMPTY;
  private isReady = false;

  constructor(
    private readonly channel: ClientChannel,
    private readonly events: { idle(runner: Runner): void; closed(runner: Runner): void },
  ) {
    let settle: (ok: boolean) => void = () => undefined;
    this.ready = new Promise<boolean>((resolve) => (settle = resolve));
    channel.on('data', (chunk: Buffer) => {
      if (!this.isReady) {
        // What a login script prints on stdout before the runner starts is skipped.
        this.readyBytes = Buffer.concat([this.readyBytes, chunk]);
        const at = this.readyBytes.indexOf(RUNNER_READY);
        if (at === -1) {
          if (this.readyBytes.length > 64 * 1024) channel.close();
          return;
        }
        this.isReady = true;
        settle(true);
        events.idle(this);
        chunk = this.readyBytes.subarray(at + RUNNER_READY.length);
        this.readyBytes = EMPTY;
        if (chunk.length === 0) return;
      }
      this.current?.out.push(chunk);
    });
    channel.stderr.on('data', (chunk: Buffer) => {
      if (this.current) this.current.err.push(chunk);
      else if (this.stderrText.length < 4096) this.stderrText += chunk.toString('utf8');
    });
    // The runner's exit comes before the channel's close, which waits for every process holding
    // its pipes: a command still running keeps them. Its caller learns at once (and kills it).
    const ended = (): void => {
      if (this.dead) return;
      this.dead = true;
      settle(false);
      const c = this.current;
      this.current = undefined;
      c?.handlers.finished(undefined, 'the command runner on the host ended while the command ran (its session was closed or killed)');
    };
    channel.once('exit', () => {
      const running = this.current !== undefined;
      ended();
      if (running) channel.close();
    });
    channel.once('close', () => {
      ended();
      events.closed(this);
    });
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Ready, alive and not running a command. */
  get idle(): boolean {
    return this.isReady && !this.dead && this.current === undefined;
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Why the runner could not start, as far as it said. */
  get startError(): string {
    return this.stderrText.trim();
  }

  run(request: RunnerRequest, handlers: RunnerCommandHandlers): void {
    if (this.dead) {
      handlers.finished(undefined, 'the command runner on the host has ended');
      return;
    }
    const done = (): void => {
      const c = this.current;
      if (!c || !c.outDone || !c.errDone) return;
      this.current = undefined;
      c.handlers.finished(c.status);
      this.events.idle(this);
    };
    const cur: NonNullable<Runner['current']> = {
      handlers,
      outDone: false,
      errDone: false,
      out: new MarkerSplitter(
        request.nonce,
        (b) => {
          if (!cur.outDone) handlers.stdout(b);
        },
        (tag, value) => {
          if (tag !== 'X' || cur.outDone) return;
          cur.status = Number(value);
          cur.outDone = true;
          done();
        },
      ),
      err: new MarkerSplitter(
        request.nonce,
        (b) => {
          if (!cur.errDone) handlers.stderr(b);
        },
        (tag, value) => {
          if (tag === 'P') {
            const pid = Number(value);
            if (Number.isInteger(pid) && pid > 1) handlers.started(pid);
          } else if (tag === 'E' && !cur.errDone) {
            cur.errDone = true;
            done();
          }
        },
      ),
    };
    this.current = cur;
    this.channel.write(request.bytes);
  }

  /** Stops reading the command's output for now (the reader is behind); SSH's window then holds the host back. */
  pause(): void {
    this.channel.pause();
  }

  resume(): void {
    this.channel.resume();
  }

  /** Ends the runner (its sh reads EOF and exits; a running command is left to finish). */
  close(): void {
    if (this.dead) return;
    this.channel.end();
  }

  /** Drops the channel at once (a runner stuck on a command that does not die). */
  destroy(): void {
    if (this.dead) return;
    this.channel.close();
  }
}

/** How long a command waits for a busy runner before another runner is started for it. */
const EXTRA_RUNNER_DELAY_MS = 30;

/** How long a command waits for a runner when all are busy and the pool is full. */
const FULL_POOL_WAIT_MS = 300;

/** A command waiting for a runner: `start` is called with an idle one, or `fallback` when the host cannot run any. */
export interface RunnerJob {
  start(runner: Runner): void;
  fallback(): void;
}

export interface RunnerPoolOptions {
  /** Opens the exec channel of a new runner (runnerLine()). */
  readonly open: () => Promise<ClientChannel>;
  /** Runners at most. */
  readonly max: number;
  /** True while something else waits for a channel: an idle runner then gives its own up. */
  readonly crowded: () => boolean;
  /** How long a runner may take to say it runs before the host is taken as unable to run one. */
  readonly readyTimeoutMs?: number;
  readonly debug?: (message: string) => void;
}

/**
 * Up to `max` runners, started one at a time while commands queue up (a command goes to
 * whichever runner is free first, a new one or one that finished). If a runner cannot start while none runs, the
 * pool gives up for good: queued and later commands fall back to exec channels of their own.
 */
export class RunnerPool {
  private readonly runners: Runner[] = [];
  private readonly queue: RunnerJob[] = [];
  private starting = 0;
  private unusable = false;
  private spawnTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RunnerPoolOptions) {
    if (options.max <= 0) this.unusable = true;
  }

  submit(job: RunnerJob): void {
    if (this.unusable) return job.fallback();
    this.queue.push(job);
    this.dispatch();
    // Every runner busy and no other to come (long commands, tar streams): after a moment the
    // command takes a channel of its own rather than wait behind them.
    if (this.queue.includes(job) && this.runners.length >= this.options.max) {
      setTimeout(() => {
        const i = this.queue.indexOf(job);
        if (i === -1) return;
        this.queue.splice(i, 1);
        job.fallback();
      }, FULL_POOL_WAIT_MS).unref();
    }
  }

  /** Starts one runner ahead of the first command, so that its start overlaps other work. */
  warm(): void {
    if (!this.unusable && this.runners.length + this.starting === 0) this.spawn();
  }

  /** Gives an idle runner's channel back when another command waits for one. */
  shed(): void {
    if (this.queue.length > 0 || !this.options.crowded()) return;
    this.runners.find((r) => r.idle)?.close();
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const runner = this.runners.find((r) => r.idle);
      if (!runner) break;
      this.queue.shift()!.start(runner);
    }
    if (this.queue.length === 0) {
      this.shed();
      return;
    }
    // One runner starting at a time (sessions starting together slow each other down on the
    // host), and beside running ones only for a command that has waited a moment: short commands
    // in a burst are done by the runners there are before a new one would be up.
    if (this.unusable || this.starting > 0 || this.runners.length >= this.options.max) return;
    if (this.runners.length === 0) this.spawn();
    else if (!this.spawnTimer) {
      this.spawnTimer = setTimeout(() => {
        this.spawnTimer = undefined;
        if (!this.unusable && this.queue.length > 0 && this.starting === 0 && this.runners.length < this.options.max) this.spawn();
      }, EXTRA_RUNNER_DELAY_MS);
      this.spawnTimer.unref();
    }
  }

  private spawn(): void {
    this.starting++;
    let counted = true;
    const started = (): void => {
      if (counted) this.starting--;
      counted = false;
    };
    this.options.open().then(
      (channel) => {
        const runner = new Runner(channel, {
          idle: () => this.dispatch(),
          closed: (r) => {
            const i = this.runners.indexOf(r);
            if (i !== -1) this.runners.splice(i, 1);
            this.dispatch();
          },
        });
        this.runners.push(runner);
        const limit = setTimeout(() => runner.destroy(), this.options.readyTimeoutMs ?? 15_000);
        void runner.ready.then((ok) => {
          clearTimeout(limit);
          started();
          if (!ok) this.failed(runner.startError || 'it ended before it ran');
          else this.dispatch();
        });
      },
      (err: unknown) => {
        started();
        this.failed(err instanceof Error ? err.message : String(err));
      },
    );
  }

  /** A runner did not start: without any other running, commands go back to their own channels. */
  private failed(why: string): void {
    if (this.runners.some((r) => r.idle || r.busy) || this.starting > 0) return this.dispatch();
    this.unusable = true;
    this.options.debug?.(`no command runner on the host (${why}); each command gets an exec channel of its own`);
    for (const job of this.queue.splice(0)) job.fallback();
  }
}
