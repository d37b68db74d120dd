/**
 * Running a local program for a target with a time limit and an AbortSignal. The program gets
 * its own process group so that a timeout or Ctrl-C kills it and whatever it started in that
 * group (a product the agent daemonised with setsid is in its own session and survives).
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { UserError } from '../../core/errors.js';

export interface ProcessRun {
  readonly command: string;
  readonly args: readonly string[];
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly onOutput?: (chunk: Buffer) => void;
  /** Fed to the program's stdin, then stdin is closed. */
  readonly stdin?: Readable;
  /**
   * Keep the program's stdin an open, empty pipe until it ends: when this process dies, the
   * pipe closes, and a program watching it (the agent's --exit-with-stdin) stops too.
   */
  readonly holdStdin?: boolean;
  /** With holdStdin: written to stdin first (a secret line such as the agent's key). */
  readonly input?: string | undefined;
  /** What it is, for messages: "shipping web-1 to local". */
  readonly what: string;
  readonly where: string;
  readonly env?: NodeJS.ProcessEnv;
}

export function runProcess(run: ProcessRun): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    if (run.signal?.aborted) return reject(interrupted(run));
    const child = spawn(run.command, [...run.args], { stdio: [run.stdin || run.holdStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true, env: run.env ?? process.env });
    let settled = false;
    let why: 'timeout' | 'abort' | undefined;
    const kill = (reason: 'timeout' | 'abort') => {
      why ??= reason;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => kill('timeout'), run.timeoutMs);
    const onAbort = () => kill('abort');
    run.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout?.on('data', (c: Buffer) => run.onOutput?.(c));
    child.stderr?.on('data', (c: Buffer) => run.onOutput?.(c));
    if (run.stdin && child.stdin) {
      run.stdin.on('error', () => kill('abort'));
      (child.stdin as Writable).on('error', () => {});
      run.stdin.pipe(child.stdin);
    } else if (child.stdin) {
      child.stdin.on('error', () => {});
      if (run.input !== undefined) child.stdin.write(run.input);
    }
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      if (run.holdStdin) child.stdin?.destroy();
      fn();
    };
    child.once('error', (err) =>
      finish(() => reject(new UserError('DEPLOY_COMMAND_FAILED', `${run.what}: cannot start ${run.command}: ${err.message}`, { where: run.where, cause: err }))),
    );
    child.once('close', (code, signal) =>
      finish(() => {
        if (why === 'timeout') reject(timedOut(run));
        else if (why === 'abort') reject(interrupted(run));
        else resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15));
      }),
    );
  });
}

export function timedOut(run: { what: string; where: string; timeoutMs: number }): UserError {
  return new UserError('DEPLOY_TIMEOUT', `${run.what} did not finish within ${Math.round(run.timeoutMs / 1000)} s and was stopped`, {
    where: run.where,
    hint: 'see the instance log for where it hung; raise the limit with AB_DEPLOY_STEP_TIMEOUT_MS (milliseconds) if the step is just slow',
  });
}

export function interrupted(run: { what: string; where: string }): UserError {
  return new UserError('DEPLOY_INTERRUPTED', `${run.what} was interrupted`, { where: run.where, hint: 'run the same command again to resume' });
}
