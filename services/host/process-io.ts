/** Output handling shared by local processes and SSH exec channels. */
import { PassThrough, type Readable } from 'node:stream';
import type { AbError } from '../../core/errors.js';
import { tarExitOk, tarFailure } from './common.js';

/** Collects stdout/stderr up to a byte cap, so a runaway command cannot exhaust memory. */
export class OutputCollector {
  private readonly out: Buffer[] = [];
  private readonly err: Buffer[] = [];
  private total = 0;
  overflowed = false;

  constructor(private readonly maxBytes: number) {}

  /** Returns false once the cap is exceeded (the caller then kills the command). */
  push(stream: 'stdout' | 'stderr', chunk: Buffer): boolean {
    this.total += chunk.length;
    if (this.total > this.maxBytes) {
      this.overflowed = true;
      return false;
    }
    (stream === 'stdout' ? this.out : this.err).push(chunk);
    return true;
  }

  stdoutBuffer(): Buffer {
    return Buffer.concat(this.out);
  }

  stderrText(): string {
    return Buffer.concat(this.err).toString('utf8');
  }
}

/** What a started tar process gives us, local or remote. */
export interface TarProcess {
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves with the exit status (128+n for a signal). */
  readonly exit: Promise<number>;
  kill(): void;
}

/**
 * The stream `tarStream` returns. It exists before the process does (an SSH channel opens
 * asynchronously), ends only after tar has exited successfully (so a truncated archive is
 * never mistaken for a whole one), and stops tar when the consumer destroys it.
 */
export class TarOutput {
  readonly stream = new PassThrough();
  private process: TarProcess | undefined;
  private finished = false;

  constructor(
    private readonly host: string,
    private readonly root: string,
    private readonly tolerateChangedFiles: boolean | undefined,
  ) {
    this.stream.once('close', () => {
      if (!this.finished) this.process?.kill();
      this.finished = true;
    });
  }

  attach(proc: TarProcess): void {
    if (this.stream.destroyed) {
      proc.kill();
      return;
    }
    this.process = proc;
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += chunk.toString('utf8');
    });
    const drained = new Promise<void>((resolve) => {
      proc.stdout.once('end', resolve);
      proc.stdout.once('close', resolve);
    });
    proc.stdout.pipe(this.stream, { end: false });
    Promise.all([proc.exit, drained]).then(
      ([code]) => {
        if (tarExitOk(code, this.tolerateChangedFiles)) {
          this.finished = true;
          this.stream.end();
        } else {
          this.fail(tarFailure(this.host, this.root, code, stderr));
        }
      },
      (err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))),
    );
  }

  fail(err: AbError | Error): void {
    this.finished = true;
    this.stream.destroy(err);
  }
}
