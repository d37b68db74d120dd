// Types of hosts.mjs.
export interface TestHost {
  /** Also its host name inside. */
  readonly name: string;
  /** Network namespace name (ip netns). */
  readonly namespace: string;
  /** The host's own address; sshd listens on address:22. */
  readonly address: string;
  /** This machine's end of the veth pair. */
  readonly hostSideAddress: string;
  readonly port: number;
  readonly user: string;
  readonly identityFile: string;
  /** known_hosts holding this host's key under its address. */
  readonly knownHostsFile: string;
  readonly dir: string;
  /** `ssh://user@address:22`, as a deployment plan names it. */
  readonly target: string;
  /** sshd's stderr so far. */
  log(): string;
  /** Runs argv inside the host's namespaces; resolves to stdout, rejects on a non-zero exit. */
  exec(argv: readonly string[]): Promise<string>;
  /** Waits up to `limitMs` (default 5 000) for the host's SSH sessions to end; false when some are still there. */
  sessionsEnded(limitMs?: number): Promise<boolean>;
  /**
   * Lets the SSH sessions under way end (up to `sessionWaitMs`), SIGTERMs what is left of them
   * (1 s), kills everything else inside, removes a pyenv rehash lock a killed login of this host
   * left behind, and removes the host.
   */
  stop(): Promise<void>;
}

export interface TestHosts {
  readonly hosts: readonly TestHost[];
  /** One client key authorized on every host. */
  readonly identityFile: string;
  /** One known_hosts with every host's key. */
  readonly knownHostsFile: string;
  stop(): Promise<void>;
}

export declare const PRIVATE_DIRS: readonly string[];

export interface HostOptions {
  /** More directories that get a private tmpfs (e.g. where a product's file sets land). */
  readonly privateDirs?: readonly string[];
  readonly identityFile?: string;
  readonly knownHostsFile?: string;
  /** How long stop() waits for SSH sessions under way to end by themselves (default 5 000 ms). */
  readonly sessionWaitMs?: number;
}

/** One host in its own namespaces, named `name`; stop() ends everything inside and removes it. */
export declare function startHost(name: string, opts?: HostOptions): Promise<TestHost>;

/** `count` hosts named `${prefix ?? 'host'}1..count`, sharing a client key and a known_hosts file. */
export declare function startHosts(count: number, opts?: HostOptions & { prefix?: string }): Promise<TestHosts>;
