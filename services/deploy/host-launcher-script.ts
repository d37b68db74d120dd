/**
 * The host launcher: the program deploy starts once per SSH host (`node -e`, this function's
 * own text) to unpack every instance's bundle and run every instance's agent as its children,
 * so that the host pays for one SSH session and one login shell instead of one per instance.
 * host-launcher.ts is the deploy side and describes the frames.
 *
 * It runs alone on the host: it may use nothing from this file's scope, only what it is given:
 * `load` (CommonJS `require`) and the two frame functions below, whose texts travel with it.
 */
/**
 * One frame: kind (1 byte), instance number (uint32 BE), body length (uint32 BE), body. Both sides
 * run this same function (its text goes to the host with hostLauncher's), so they cannot drift.
 */
export function encodeFrame(kind: string, id: number, body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const head = Buffer.alloc(9);
  head.write(kind, 0, 'latin1');
  head.writeUInt32BE(id, 1);
  head.writeUInt32BE(b.length, 5);
  return Buffer.concat([head, b]);
}

/** Chunks of a stream of frames back into frames, handed to `onFrame` as each completes (both sides too). */
export function frameReader(onFrame: (kind: string, id: number, body: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length > 0 ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 9) {
      const len = buf.readUInt32BE(5);
      if (buf.length < 9 + len) break;
      onFrame(buf.toString('latin1', 0, 1), buf.readUInt32BE(1), buf.subarray(9, 9 + len));
      buf = buf.subarray(9 + len);
    }
  };
}

export function hostLauncher(load: NodeRequire, encode: typeof encodeFrame, frames: typeof frameReader): void {
  const { spawn } = load('node:child_process') as typeof import('node:child_process');
  const { constants } = load('node:os') as typeof import('node:os');
  type Child = import('node:child_process').ChildProcessWithoutNullStreams;
  interface Job {
    /** The agent's arguments after node; dropped once it started, or when it must not start. */
    args?: string[];
    /** The unpacking: T and E frames go to it alone (tar may end before the archive's padding has come). */
    unpack?: Child;
    agent?: Child;
  }
  const jobs = new Map<number, Job>();
  const OUTPUT_GRACE_MS = 2000;
  let ended = false;
  let blocked = 0;

  // The deploy side gone: nothing to tell, the agents end with their stdin below.
  process.stdout.on('error', () => undefined);
  const send = (kind: string, id: number, body: Buffer | string = ''): void => {
    process.stdout.write(encode(kind, id, body));
  };

  /** Its own process group (detached), so that a kill reaches whatever it started. */
  const start = (id: number, command: string, args: readonly string[], done: (code: number) => void): Child => {
    const child = spawn(command, args, { stdio: 'pipe', detached: true });
    let finished = false;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      done(code);
    };
    child.stdout.on('data', (c: Buffer) => send('O', id, c));
    child.stderr.on('data', (c: Buffer) => send('O', id, c));
    child.stdin.on('error', () => undefined);
    child.on('error', (err) => {
      send('O', id, `${command}: ${err.message}\n`);
      finish(127);
    });
    const status = (code: number | null, signal: NodeJS.Signals | null): number => code ?? 128 + (signal ? constants.signals[signal] : 0);
    child.on('close', (code, signal) => finish(status(code, signal)));
    // A server it left behind may still hold its stdout: the exit counts once the output so far has come.
    // Its pipes are then let go, so that they do not keep this program alive.
    const late = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (finished) return;
      child.stdout.destroy();
      child.stderr.destroy();
      finish(status(code, signal));
    };
    child.on('exit', (code, signal) => setTimeout(late, OUTPUT_GRACE_MS, code, signal).unref());
    return child;
  };

  const kill = (child: Child | undefined): void => {
    try {
      // Not once it has ended: its group number may be another's by then.
      if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };

  const handle = (kind: string, id: number, body: Buffer): void => {
    if (kind === 'A') {
      const { unpack, agent, input } = JSON.parse(body.toString('utf8')) as { unpack: string[]; agent: string[]; input?: string };
      const job: Job = { args: agent };
      jobs.set(id, job);
      job.unpack = start(id, unpack[0] ?? 'tar', unpack.slice(1), (code) => {
        send('U', id, String(code));
        const args = job.args;
        delete job.args;
        if (code !== 0 || !args || ended) return void jobs.delete(id);
        // The same node as this program: the one on the login PATH, which deploy checked.
        job.agent = start(id, process.execPath, args, (exit) => {
          jobs.delete(id);
          send('X', id, String(exit));
        });
        // The agent's key line: held by this program only until the agent has it.
        if (input !== undefined) job.agent.stdin.write(input);
      });
      return;
    }
    const job = jobs.get(id);
    const input = job?.unpack?.stdin;
    if (!job || !input) return;
    if (kind === 'T' && !input.writableEnded && !input.write(body)) {
      // One full pipe holds back every frame: the bytes wait in tar's pipe, not here.
      if (blocked++ === 0) process.stdin.pause();
      let waiting = true;
      const resume = (): void => {
        if (!waiting) return;
        waiting = false;
        if (--blocked === 0) process.stdin.resume();
      };
      // Drained, or tar went without reading the rest.
      input.once('drain', resume);
      input.once('close', resume);
    } else if (kind === 'E') input.end();
    else if (kind === 'K') {
      delete job.args;
      kill(job.unpack);
      kill(job.agent);
    }
  };

  process.stdin.on('data', frames(handle));
  // Deploy ended or its connection dropped: each agent sees its stdin close, as when it had a
  // session of its own (--exit-with-stdin); an unpack still running is killed.
  process.stdin.once('end', () => {
    ended = true;
    for (const job of jobs.values()) {
      kill(job.unpack);
      job.agent?.stdin.end();
    }
  });
  send('H', 0, process.version);
}
