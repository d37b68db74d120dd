import type { FileSetDefinition } from '../../core/metadata/index.js';
import type { ReferenceHost } from '../../core/reference-host.js';
import { captureFileSet, captureFromTarStream, type CaptureProgress, type CaptureResult, type SkipReason, type SkippedEntry } from '../archive/capture.js';
import type { CaptureCodec } from '../archive/encoders.js';
import { DEFAULT_SECRET_PATHS } from '../archive/secrets.js';
import { literalExcludeArgs, resolveTarExcludes } from '../archive/tar-excludes.js';

export interface DefinitionCaptureOptions {
  readonly out: string;
  readonly codec: CaptureCodec;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: CaptureProgress) => void;
  /**
   * Files (exact paths relative to the root) left out besides the definition's excludes, each
   * reported in the skipped list with `leaveOutReason` when it exists on the host.
   */
  readonly leaveOut?: readonly string[];
  readonly leaveOutReason?: string;
}

/** A skipped entry: the archive layer's reasons plus the ones a job adds (leaveOut). */
export type DefinitionSkippedEntry = Omit<SkippedEntry, 'reason'> & { readonly reason: SkipReason | string };
export type DefinitionCaptureResult = Omit<CaptureResult, 'skipped'> & { readonly skipped: readonly DefinitionSkippedEntry[] };

/** A default secret is captured only when a definition's root is that very path. */
function namedSecrets(def: FileSetDefinition): string[] {
  return DEFAULT_SECRET_PATHS.filter((s) => s === def.root);
}

const SPECIAL_TYPES: Readonly<Record<string, SkipReason>> = { p: 'fifo', s: 'socket', b: 'block-device', c: 'character-device' };

/**
 * FIFOs, sockets and devices under the root that the excludes keep. The local walker skips
 * and reports them. Over SSH, the stream filter (tar-filter.ts) skips the FIFOs and devices
 * GNU tar archives, but tar leaves sockets out with only a warning: this listing reports them
 * all, alongside the tar stream rather than before it, so it adds no round trip.
 */
async function specialFiles(host: ReferenceHost, def: FileSetDefinition): Promise<SkippedEntry[]> {
  const r = await host.run(['find', def.root, '(', '-type', 'p', '-o', '-type', 's', '-o', '-type', 'b', '-o', '-type', 'c', ')', '-printf', '%y %P\\0'], {
    env: { LC_ALL: 'C' },
    timeoutMs: 150_000,
  });
  // A non-zero exit (missing root, unreadable directory) still lists what find saw; tar reports the problem.
  const out: SkippedEntry[] = [];
  for (const item of r.stdout.split('\0')) {
    const reason = SPECIAL_TYPES[item.slice(0, 1)];
    const path = item.slice(2);
    if (reason && path && !def.excludeMatcher.excludes(path)) out.push({ path, reason });
  }
  return out;
}

/**
 * Captures one file set definition from its reference host. On this machine the capture
 * engine walks the tree itself (the fast path); on a remote host, GNU tar runs there with
 * equivalent excludes and its stream is compressed here, over the one SSH connection.
 */
export async function captureDefinition(host: ReferenceHost, def: FileSetDefinition, opts: DefinitionCaptureOptions): Promise<DefinitionCaptureResult> {
  const common = {
    out: opts.out,
    codec: opts.codec,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
  const secrets = { allowSecrets: namedSecrets(def), includeSecrets: def.includeSecrets };
  const leaveOut = opts.leaveOut ?? [];
  // Only the ones present: the list says what the archive lacks, not what might have been there.
  const left = leaveOutReport(host, def, leaveOut, opts.leaveOutReason ?? 'excluded');
  left.catch(() => undefined);
  let result: CaptureResult;
  let specials: SkippedEntry[] = [];
  if (host.kind === 'local') {
    const names = new Set(leaveOut);
    const excludes = names.size === 0 ? def.excludeMatcher : { dropsEntry: (p: string) => names.has(p) || def.excludeMatcher.dropsEntry(p) };
    result = await captureFileSet({ ...common, ...secrets, root: def.root, excludes });
  } else {
    // The secret rules are applied here, to the stream (tar-filter.ts), not by tar: so they
    // are the walker's rules exactly, and each skip is reported.
    const special = specialFiles(host, def);
    // Settled below; until then a failure must not count as unhandled.
    special.catch(() => undefined);
    const excludes = [...(await resolveTarExcludes(host, def.root, def.excludes, DEFAULT_SECRET_PATHS)), ...literalExcludeArgs(leaveOut)];
    const stream = host.tarStream(def.root, { excludes });
    [result, specials] = await Promise.all([captureFromTarStream(stream, { ...common, ...secrets, root: def.root, where: `${host.describe()}:${def.root}` }), special]);
  }
  // FIFOs and devices are in both lists over SSH; each path once.
  const seen = new Set(result.skipped.map((s) => s.path));
  const skipped: DefinitionSkippedEntry[] = [...result.skipped, ...specials.filter((s) => !seen.has(s.path)), ...(await left)];
  return { ...result, skipped: skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
}

async function leaveOutReport(host: ReferenceHost, def: FileSetDefinition, paths: readonly string[], reason: string): Promise<DefinitionSkippedEntry[]> {
  const out: DefinitionSkippedEntry[] = [];
  for (const path of paths) {
    // A path the definition's own excludes drop is theirs to explain.
    if (def.excludeMatcher.excludes(path)) continue;
    if (await host.lstat(def.root === '/' ? `/${path}` : `${def.root}/${path}`)) out.push({ path, reason });
  }
  return out;
}
