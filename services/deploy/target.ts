/**
 * Deployment targets: where instances run. Each kind (this machine, SSH hosts; later podman
 * and Kubernetes) is one contribution bound to `DeploymentTarget` in its own ContainerModule;
 * the deployer asks every bound target which one accepts a plan's `target="..."` text.
 */

export interface TargetOptions {
  /** SSH: private key file(s) to offer. */
  readonly identityFile?: string | readonly string[];
  /** SSH: known_hosts to check host keys against (default ~/.ssh/known_hosts). */
  readonly knownHostsFile?: string;
  /** SSH: accept any host key (prints a warning); only for throw-away hosts. */
  readonly insecureSkipHostKeyCheck?: boolean;
  readonly connectTimeoutMs?: number;
}

export interface AgentRun {
  /** Arguments after `node`: the agent file, the operation, `--bundle DIR`. */
  readonly args: readonly string[];
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Every chunk of stdout and stderr, as it comes (the per-instance log). */
  readonly onOutput: (chunk: Buffer) => void;
}

/** An open target: one connection per host for the whole command. */
export interface TargetConnection {
  /** The plan's text for it: `local` or `ssh://user@host:port`. */
  readonly spec: string;
  /** The host's own name (`hostname`), and the address peers use to reach it. */
  identity(): Promise<{ hostname: string; address: string }>;
  /** Throws a UserError saying what to install when the host cannot run the agent (Node.js >= 20). */
  check(): Promise<{ node: string }>;
  /** Copies the local directory `from` to `to` on the host (created; replaced when it exists). */
  ship(from: string, to: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void>;
  /** Runs `node ARGS` on the host; resolves to the exit code. Killed on timeout or abort (then throws). */
  runNode(run: AgentRun): Promise<number>;
  /** Removes `dir` on the host (what deploy wrote there); absent is fine. */
  remove(dir: string, opts: { timeoutMs: number }): Promise<void>;
  close(): Promise<void>;
}

export interface DeploymentTarget {
  /** `local`, `ssh`: for messages and the docs. */
  readonly kind: string;
  /** Whether this kind handles the plan's target text. */
  accepts(spec: string): boolean;
  open(spec: string, options: TargetOptions): Promise<TargetConnection>;
}
export const DeploymentTarget = Symbol('DeploymentTarget');

/** Lowest Node.js major the agent runs on. */
export const MIN_NODE_MAJOR = 20;

/** Parses `node --version`-like text; undefined when it is not a version. */
export function nodeMajor(version: string): number | undefined {
  const m = /^v?(\d+)\.\d+\.\d+/.exec(version.trim());
  return m ? Number(m[1]) : undefined;
}
