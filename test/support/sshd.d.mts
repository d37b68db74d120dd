// Types of sshd.mjs.
export interface SshdHandle {
  readonly port: number;
  readonly user: string;
  /** Private key authorized on this sshd. */
  readonly identityFile: string;
  /** A known_hosts file holding `[127.0.0.1]:PORT <host key>`. */
  readonly knownHostsFile: string;
  /** The host's public key line (`ssh-ed25519 AAAA...`). */
  readonly hostPublicKey: string;
  /** Temp dir holding all of the above; removed by stop(). */
  readonly dir: string;
  /** `user@127.0.0.1:port`. */
  readonly target: string;
  /** sshd's stderr so far (it runs with -e), for diagnosing failures. */
  log(): string;
  stop(): Promise<void>;
}

export declare const SSHD: string;
export declare const SFTP_SERVER: string;

/** An sshd_config for a test server whose files live in `dir` (key login only; SFTP unless `sftp` is false). */
export declare function sshdConfig(options: { address: string; port: number; dir: string; hostKey: string; sftp?: boolean; logLevel?: string; extra?: string[] }): string;

/** A TCP port nobody listens on right now (loopback). */
export declare function freePort(): Promise<number>;

/** Starts a private sshd on a free loopback port; stop() removes everything. `sftp: false`: no SFTP subsystem; `extra`: more sshd_config lines. */
export declare function startSshd(options?: { sftp?: boolean; extra?: string[] }): Promise<SshdHandle>;
