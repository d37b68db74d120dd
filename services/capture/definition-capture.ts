import type { FileSetDefinition } from '../../core/metadata/index.js';
import type { ReferenceHost } from '../../core/reference-host.js';
import { captureFileSet, captureFromTarStream, type CaptureProgress, type CaptureResult } from './capture.js';
import type { CaptureCodec } from './encoders.js';
import { DEFAULT_SECRET_PATHS } from './secrets.js';
import { tarExcludeArgs } from './tar-excludes.js';

export interface DefinitionCaptureOptions {
  readonly out: string;
  readonly codec: CaptureCodec;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: CaptureProgress) => void;
}

/** A default secret is captured only when a definition's root is that very path. */
function namedSecrets(def: FileSetDefinition): string[] {
  return DEFAULT_SECRET_PATHS.filter((s) => s === def.root);
}

/**
 * Captures one file set definition from its reference host. On this machine the capture
 * engine walks the tree itself (the fast path); on a remote host, GNU tar runs there with
 * equivalent excludes and its stream is compressed here, over the one SSH connection.
 */
export async function captureDefinition(host: ReferenceHost, def: FileSetDefinition, opts: DefinitionCaptureOptions): Promise<CaptureResult> {
  const common = {
    out: opts.out,
    codec: opts.codec,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
  if (host.kind === 'local') {
    return captureFileSet({ ...common, root: def.root, excludes: def.excludeMatcher, allowSecrets: namedSecrets(def) });
  }
  const stream = host.tarStream(def.root, { excludes: tarExcludeArgs(def.root, def.excludes, namedSecrets(def)) });
  return captureFromTarStream(stream, { ...common, where: `${host.describe()}:${def.root}` });
}
