/**
 * Deployment targets: where instances run. Each kind (this machine, SSH hosts; later podman
 * and Kubernetes) is one contribution bound to `DeploymentTarget` in its own ContainerModule;
 * the deployer asks every bound target which one accepts a plan's `target="..."` text.
 */
import type { DeploymentPlan } from '../../core/deployment-plan/index.js';
import type { LateBindings } from '../../core/lifecycle-contract.js';
import type { Assembly } from '../../core/metadata/index.js';

export interface TargetOptions {
  /** SSH: private key file(s) to offer. */
  readonly identityFile?: string | readonly string[];
  /** SSH: known_hosts to check host keys against (default ~/.ssh/known_hosts). */
  readonly knownHostsFile?: string;
  /** SSH: accept any host key (prints a warning); only for throw-away hosts. */
  readonly insecureSkipHostKeyCheck?: boolean;
  readonly connectTimeoutMs?: number;
  /** Container engines: how appliance images are made and where they go. */
  readonly engine?: EngineOptions;
}

export interface EngineOptions {
  /** Base image for createTemplate (OCI layout, oci-archive or root file system directory). */
  readonly base?: string;
  /** Node.js binary to ship in images, or `none` (createTemplate --node). */
  readonly node?: string;
  /** Kubernetes: the registry images are pushed to (`registry.example.com:5000/team`). */
  readonly registry?: string;
}

/** One instance as a container engine runs it: everything deploy knows about it. */
export interface EngineInstance {
  readonly deployment: string;
  /** The deployment's local directory: the engine keeps its files (manifests, state) under it. */
  readonly deploymentDir: string;
  readonly id: string;
  /** The appliance's key in the assembly (`web`, `tier/web`). */
  readonly appliance: string;
  readonly index: number;
  /** Ports of its inputs with the plan applied (the container listens on these). */
  readonly ports: readonly { input: string; port: number }[];
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** The instance log. */
  readonly onOutput: (chunk: Buffer) => void;
}

/** What `up` needs beyond the instance: the model, with the plan's clear passwords, and the bindings. */
export interface EngineUp extends EngineInstance {
  readonly assembly: Assembly;
  readonly plan: DeploymentPlan;
  readonly bindings: LateBindings;
}

/**
 * A target that runs instances itself (a container engine) rather than shipping a bundle for
 * the agent: the image's entrypoint rehydrates and starts, the engine stops and starts the
 * container, and the health check is the agent's ping inside it.
 */
export interface InstanceEngine {
  /** Creates (or re-creates with new bindings) and starts the instance; resolves when healthy. */
  up(req: EngineUp): Promise<{ hostname: string; address: string; ports: readonly { input: string; port: number }[] }>;
  stop(i: EngineInstance): Promise<void>;
  /** Starts a stopped instance; resolves when healthy. */
  start(i: EngineInstance): Promise<void>;
  ping(i: EngineInstance): Promise<{ code: number; lastLine: string }>;
  /**
   * Removes the instance and, once nothing of the deployment is left, what it shared (images,
   * network). `undeploy`: every instance of the deployment goes in this command, so what the
   * instances of one appliance share (a Kubernetes workload) may go once for all of them.
   */
  remove(i: EngineInstance, how: { readonly undeploy: boolean }): Promise<void>;
}

export interface AgentRun {
  /** Arguments after `node`: the agent file, the operation, `--bundle DIR`. */
  readonly args: readonly string[];
  /**
   * Written to the agent's stdin as it starts (the bundle key line, for --key-stdin); stdin then
   * stays open as always. Secret: never logged, never on a command line.
   */
  readonly input?: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Every chunk of stdout and stderr, as it comes (the per-instance log). */
  readonly onOutput: (chunk: Buffer) => void;
}

export interface ShipAndRun extends AgentRun {
  /** Limit of the shipping part (the agent's own is `timeoutMs`). */
  readonly shipTimeoutMs: number;
  readonly onShipped: () => void;
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
  /**
   * Optional: ship(from, to) then runNode(run) as one remote command, where each remote command
   * costs the host a session and a login shell (SSH). `onShipped` is told once the bundle is in
   * place and the agent starts; a failure before that throws as ship() would.
   */
  shipAndRun?(from: string, to: string, run: ShipAndRun): Promise<number>;
  /** Removes `dir` on the host (what deploy wrote there); absent is fine. */
  remove(dir: string, opts: { timeoutMs: number }): Promise<void>;
  close(): Promise<void>;
  /** Present on container engines: the deployer lets it run each instance's whole lifecycle. */
  readonly engine?: InstanceEngine;
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
