/**
 * The appliance bundle on disk: everything one instance needs, without the catalog (the
 * reference's "catalog slice on the VM"). Shared by the writer (on the deployer) and the
 * agent (on the instance), so both agree on names and on what bundle.json holds.
 *
 *   <bundle>/bundle.json        BundleManifest (below)
 *   <bundle>/appliance.xml      the appliance with the plan applied (catalog XML codec); its password
 *                               values encrypted with the bundle's key (bundle-key.ts) when bundle.json
 *                               names one, absent in an image's bundle
 *   <bundle>/assembly.xml       the whole assembly for the navigator, plan applied, no password values
 *   <bundle>/bindings.json      LateBindings: this instance and the peers of each connected output
 *   <bundle>/content/<name>     content resources (and files the plan gave for fileRef properties)
 *   <bundle>/filesets/<file>    captured file set archives, as the catalog holds them
 *   <bundle>/plugins/<name>/    the creator plugin and its enabled extensions, copied
 *   <bundle>/abctl-agent.mjs    the agent (one JavaScript file), unless left out
 *
 * Directories are 0700 and files 0600: even encrypted, password values are nobody else's business.
 *
 * Format 2 added `passwordKey`; format 1 bundles (written before it, password values in clear)
 * are still read, so instances deployed then keep working until they are deployed again.
 */
import { UserError } from '../../core/errors.js';
import type { BundlePasswordKey } from './bundle-key.js';

export const BUNDLE_FORMAT_VERSION = 2;
/** Formats the agent reads: 1 had password values in clear. */
const READABLE_FORMATS: readonly number[] = [1, BUNDLE_FORMAT_VERSION];
export const BUNDLE_MANIFEST = 'bundle.json';
export const BUNDLE_APPLIANCE = 'appliance.xml';
export const BUNDLE_ASSEMBLY = 'assembly.xml';
export const BUNDLE_BINDINGS = 'bindings.json';
export const BUNDLE_CONTENT_DIR = 'content';
export const BUNDLE_FILESETS_DIR = 'filesets';
export const BUNDLE_PLUGINS_DIR = 'plugins';
export const AGENT_FILE = 'abctl-agent.mjs';
/** Starts the stderr line the agent prints before each operation when given several (`rehydrate start`). */
export const AGENT_STEP_MARK = 'abctl-agent-step:';
/** Oldest Node.js major the agent runs on (checked by the agent and documented). */
export const MIN_NODE_MAJOR = 20;

export interface BundleFileSet {
  readonly name: string;
  readonly root: string;
  readonly owner: string;
  readonly group: string;
  readonly scope: 'local' | 'shared';
  readonly captured: boolean;
  /**
   * Shared NFS only: what the agent mounts at `root` before anything else: `server:/export`
   * (NFS), or `file:///path` (a bind mount of a directory of the instance's machine).
   */
  readonly mountTarget?: string;
  /** Relative to the bundle (`filesets/home.tar.gz`); absent when the file set is not captured. */
  readonly archive?: string;
  readonly codec?: 'gzip' | 'zstd' | 'none';
  readonly size?: number;
  readonly sha256?: string;
  /** Image bundles: the files are already in the image (a layer), so rehydrate extracts nothing. */
  readonly inImage?: boolean;
  /** Image bundles: false when the layer could not give the files the definition's owner (rehydrate sets it). */
  readonly ownerInLayer?: boolean;
}

export interface BundlePlugin {
  readonly name: string;
  readonly version: string;
  /** Relative to the bundle (`plugins/example`). */
  readonly directory: string;
}

export interface BundleManifest {
  readonly formatVersion: number;
  readonly deployment: string;
  readonly assembly: string;
  /** The appliance's path in the assembly (`web`, `tier/web`). */
  readonly appliance: string;
  readonly instanceIndex: number;
  /** The creator plugin, then its enabled extensions, in the order every operation runs them. */
  readonly chain: readonly string[];
  readonly plugins: readonly BundlePlugin[];
  readonly fileSets: readonly BundleFileSet[];
  /** Content resource name -> file relative to the bundle. */
  readonly contentResources: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly sdkVersion: string;
  /**
   * Present when appliance.xml's password values are encrypted: with which key. The key is not
   * in the bundle; the agent is given it on stdin. Absent: values in clear (format 1, a
   * container's private copy) or none at all (an image's bundle).
   */
  readonly passwordKey?: BundlePasswordKey;
}

/** Checks what the agent relies on; anything else in the file is ignored (newer writers may add fields). */
export function parseManifest(text: string, where: string): BundleManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid(`not valid JSON (${(err as Error).message})`, where);
  }
  if (typeof raw !== 'object' || raw === null) throw invalid('not a JSON object', where);
  const m = raw as Record<string, unknown>;
  if (typeof m['formatVersion'] !== 'number' || !READABLE_FORMATS.includes(m['formatVersion'])) {
    throw new UserError('BUNDLE_FORMAT_UNSUPPORTED', `bundle format ${String(m['formatVersion'])} is not one this agent reads (${READABLE_FORMATS.join(', ')})`, {
      where,
      hint: 'ship the agent written with the bundle (abctl-agent.mjs beside bundle.json), or write the bundle again with this abctl',
    });
  }
  for (const key of ['deployment', 'assembly', 'appliance', 'sdkVersion'] as const) {
    if (typeof m[key] !== 'string') throw invalid(`field "${key}" must be a string`, where);
  }
  if (!Number.isInteger(m['instanceIndex'])) throw invalid('field "instanceIndex" must be a whole number', where);
  const chain = m['chain'];
  if (!Array.isArray(chain) || chain.length === 0 || !chain.every((c) => typeof c === 'string')) throw invalid('field "chain" must list at least the creator plugin', where);
  if (!Array.isArray(m['fileSets']) || !Array.isArray(m['plugins'])) throw invalid('fields "fileSets" and "plugins" must be lists', where);
  for (const f of m['fileSets'] as unknown[]) {
    const fs = f as Record<string, unknown>;
    if (typeof fs['name'] !== 'string' || typeof fs['root'] !== 'string' || !fs['root'].startsWith('/')) throw invalid('every file set needs a name and an absolute root', where);
    if (fs['archive'] !== undefined && (typeof fs['archive'] !== 'string' || fs['archive'].includes('..') || typeof fs['sha256'] !== 'string')) {
      throw invalid(`file set "${fs['name']}": archive must be a path inside the bundle with its sha256`, where);
    }
  }
  if (typeof m['contentResources'] !== 'object' || m['contentResources'] === null) throw invalid('field "contentResources" must be an object', where);
  const key = m['passwordKey'] as Record<string, unknown> | undefined;
  if (key !== undefined && (m['formatVersion'] === 1 || typeof key !== 'object' || key === null || key['cipher'] !== 'aes-256-gcm' || typeof key['keyId'] !== 'string')) {
    throw invalid('field "passwordKey" must be {"cipher": "aes-256-gcm", "keyId": "..."} (format 2 and later)', where);
  }
  return m as unknown as BundleManifest;
}

function invalid(message: string, where: string): UserError {
  return new UserError('BUNDLE_INVALID', `bundle.json: ${message}`, { where, hint: 'write the bundle again with abctl (a hand-edited or truncated bundle.json cannot be trusted)' });
}
