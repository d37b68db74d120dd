/**
 * Counts and times what one SSH connection does: sshd sessions opened (each exec channel and the
 * SFTP subsystem costs a fork and a login on the host), commands sent to the command runner, and
 * SFTP calls. `SshHost.stats` returns the counts; with AB_SSH_TRACE=FILE set, each connection
 * appends one JSON line to FILE when it closes (or when the process exits), with every call's
 * start and duration, when the connection was begun (ms since the process started) and how long
 * the handshake and login took, for bench/ssh.mjs and for profiling. Only command names and paths are
 * recorded: never environment values or stdin, which is where secrets travel.
 */
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface SshStats {
  /** sshd sessions opened on this connection: exec channels (commands, tar, kills, runners) and the SFTP subsystem. */
  readonly sessions: number;
  /** Commands run through a command runner (no session of their own). */
  readonly runnerCommands: number;
  /** SFTP calls (stat, readdir, readFile...); a readFile is several requests on the wire but one round trip of ours to wait for. */
  readonly sftpCalls: number;
}

export interface SshTraceEvent {
  readonly kind: 'session' | 'runner' | 'sftp';
  readonly what: string;
  /** ms since the connection was made. */
  readonly start: number;
  /** ms until the call completed (undefined when it never did). */
  ms?: number;
}

const MAX_EVENTS = 5000;

export class SshTrace {
  private readonly started = performance.now();
  private readonly connectMs: number;
  private readonly counts = { sessions: 0, runnerCommands: 0, sftpCalls: 0 };
  private readonly events: SshTraceEvent[] = [];
  private written = false;
  private readonly file = process.env.AB_SSH_TRACE || undefined;
  private readonly onExit = () => this.flush();

  /** `connectStarted`: performance.now() when the TCP connection was begun (ms since the process started). */
  constructor(
    private readonly target: string,
    private readonly connectStarted: number,
  ) {
    this.connectMs = Math.round(this.started - connectStarted);
    if (this.file) process.once('exit', this.onExit);
  }

  get stats(): SshStats {
    return { ...this.counts };
  }

  /** Records one call; call the returned function when it has completed. */
  begin(kind: SshTraceEvent['kind'], what: string): () => void {
    this.counts[kind === 'session' ? 'sessions' : kind === 'runner' ? 'runnerCommands' : 'sftpCalls']++;
    if (!this.file || this.events.length >= MAX_EVENTS) return () => undefined;
    const event: SshTraceEvent = { kind, what: what.length > 120 ? `${what.slice(0, 117)}...` : what, start: this.ms() };
    this.events.push(event);
    return () => {
      if (event.ms === undefined) event.ms = Math.round((this.ms() - event.start) * 10) / 10;
    };
  }

  /** Appends this connection's line to AB_SSH_TRACE (once). */
  flush(): void {
    if (!this.file || this.written) return;
    this.written = true;
    process.removeListener('exit', this.onExit);
    try {
      appendFileSync(this.file, `${JSON.stringify({ target: this.target, connectAt: Math.round(this.connectStarted), connectMs: this.connectMs, ms: this.ms(), ...this.counts, events: this.events })}\n`);
    } catch {
      // A trace is a diagnostic aid: failing to write it must not fail the job.
    }
  }

  private ms(): number {
    return Math.round((performance.now() - this.started) * 10) / 10;
  }
}
