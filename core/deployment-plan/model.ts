/**
 * The deployment plan in memory: a tree that mirrors the assembly (assembly, its members,
 * an appliance's endpoints and interfaces), holding only what a deployment may change.
 * Values are canonical strings as in the metadata model; passwords are clear text here
 * and only ever leave memory encrypted or blank (see xml.ts).
 */
import type { PropertyType } from '../metadata/index.js';

/** Version of the plan file format written by this abctl; readers accept this and earlier. */
export const PLAN_FORMAT_VERSION = 1;

/** Root element name of a plan file. */
export const PLAN_ROOT = 'deploymentPlan';

export const PLAN_NODE_KINDS = ['assembly', 'atomicAssembly', 'appliance', 'externalResource', 'input', 'output', 'interface'] as const;
export type PlanNodeKind = (typeof PLAN_NODE_KINDS)[number];

/** Labels as the metadata model writes them in error locations (`appliance "web"`). */
export const KIND_LABELS: Readonly<Record<PlanNodeKind, string>> = {
  assembly: 'assembly',
  atomicAssembly: 'atomic assembly',
  appliance: 'appliance',
  externalResource: 'external resource',
  input: 'input',
  output: 'output',
  interface: 'interface',
};

/** Which child node kinds each kind may hold in a plan. */
export const PLAN_CHILD_KINDS: Readonly<Record<PlanNodeKind, readonly PlanNodeKind[]>> = {
  assembly: ['assembly', 'atomicAssembly', 'appliance', 'externalResource'],
  atomicAssembly: ['appliance'],
  appliance: ['input', 'output', 'interface'],
  externalResource: ['input'],
  input: [],
  output: [],
  interface: [],
};

/** A user property override. `line` is set for plans read from a file. */
export interface PlanProperty {
  readonly name: string;
  /** As written in the plan (informational: the metadata's type is what counts). */
  readonly type: PropertyType | string;
  readonly required: boolean;
  readonly description: string;
  /** Clear text (passwords included); undefined: the plan gives no value (the metadata's applies). */
  readonly value: string | undefined;
  /** A password value that was found in clear text in the file (refused by validation). */
  readonly clearText?: boolean;
  /** Why an encrypted password could not be read (validation reports it). */
  readonly secretProblem?: string;
  readonly line?: number;
}

/** A fileRef property: `current` is the metadata's URI; `file` a local file to send instead. */
export interface PlanFileRef {
  readonly name: string;
  readonly required: boolean;
  readonly description: string;
  readonly current: string | undefined;
  /** Local path; relative paths are relative to the plan file's directory. */
  readonly file: string | undefined;
  readonly line?: number;
}

/** How many instances to deploy; `min`/`max` are copied from the metadata as a reminder. */
export interface PlanInstances {
  /** Raw text for plans read from a file, so "abc" can be reported rather than lost. */
  readonly count: string;
  readonly min: number;
  readonly max: number;
  readonly line?: number;
}

export interface PlanSynthetic {
  readonly name: string;
  readonly value: string | undefined;
  readonly line?: number;
}

/** Placeholder for one instance's target host; empty strings mean "not assigned yet". */
export interface PlanHost {
  /** 1-based instance number, raw text for plans read from a file. */
  readonly instance: string;
  readonly hostname: string;
  readonly address: string;
  /**
   * Where deploy runs the instance: `local` (the machine running abctl) or
   * `ssh://user@host[:port]`. Absent: not given (the appliance's other hosts are used in turn).
   * A host line beyond the instance count that has a target is a spare for scaling up.
   */
  readonly target?: string;
  readonly line?: number;
}

/** NFS export (`server:/path`) that a shared NFS file set mounts. */
export interface PlanMountTarget {
  readonly fileSet: string;
  readonly target: string;
  readonly captured: boolean;
  readonly line?: number;
}

export interface PlanNode {
  readonly kind: PlanNodeKind;
  readonly name: string;
  readonly properties: readonly PlanProperty[];
  readonly fileRefs: readonly PlanFileRef[];
  /** Members of an assembly; appliances of an atomic assembly; endpoints and interfaces of an appliance. */
  readonly children: readonly PlanNode[];
  /** Appliances only (the rest stay empty / undefined). */
  readonly instances?: PlanInstances;
  readonly synthetic: readonly PlanSynthetic[];
  readonly hosts: readonly PlanHost[];
  readonly mountTargets: readonly PlanMountTarget[];
  readonly line?: number;
}

export interface DeploymentPlan {
  readonly formatVersion: number;
  /** Name of the top-level assembly the plan is for. */
  readonly assembly: string;
  /** The assembly itself: its properties and members. */
  readonly root: PlanNode;
  /** File the plan was read from, for messages. */
  readonly file?: string;
}

/** Definition of a property that exists only in plans (not in the metadata). */
export interface SyntheticPropertySpec {
  readonly name: string;
  readonly type: 'boolean' | 'int';
  readonly defaultValue: string;
  /** Which appliances get it. */
  readonly appliesTo: 'scalable';
  /** What it means, for the plan comment and docs. */
  readonly meaning: string;
}

/**
 * Synthetic properties: deployment choices about instances, which therefore do not exist
 * in appliance metadata. A table so that adding one is one entry (plus its check in
 * validate.ts when it has rules beyond its type).
 */
export const SYNTHETIC_PROPERTIES: readonly SyntheticPropertySpec[] = [
  {
    name: 'antiAffinity',
    type: 'boolean',
    defaultValue: 'false',
    appliesTo: 'scalable',
    meaning:
      'true: no two instances of this appliance may run on the same target host (losing one host then loses one instance); false: the deployer may place instances together',
  },
];

export function syntheticSpec(name: string): SyntheticPropertySpec | undefined {
  return SYNTHETIC_PROPERTIES.find((s) => s.name === name);
}
