/**
 * The one file-set capture step of every job that captures (introspect, captureFileSets): for
 * each file set an appliance owns, the chain's capture checks, then the archive into the job's
 * scratch dir. Nothing reaches the catalog here: the job commits the archives it gets back,
 * with whatever else it stores, in one commit.
 */
import { join, posix } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { Appliance, FileSetDefinition } from '../../core/metadata/index.js';
import type { CaptureApplianceView, ServiceCollector } from '../../core/plugin-contract.js';
import { ServiceIds } from '../../core/service-ids.js';
import { listTemplateVariables } from '../../core/templates/index.js';
import type { ArchiveWrite } from '../../catalog/catalog.js';
import type { CaptureCodec } from '../archive/encoders.js';
import { captureDefinition } from './definition-capture.js';
import type { Job } from './job.js';
import { chainServices } from './plugin-chain.js';

/** An archive in the scratch dir, ready for the job's commit, with what the summary shows. */
export interface StagedArchive extends ArchiveWrite {
  readonly appliance: string;
  readonly files: number;
  readonly bytes: number;
  readonly archiveBytes: number;
  readonly sha256: string;
  readonly skipped: readonly { path: string; reason: string }[];
}

export interface FileSetCaptureRequest {
  readonly appliances: readonly Appliance[];
  /** The catalog owner path of an appliance: its name, or `assembly/name`. */
  readonly ownerOf: (appliance: string) => string;
  /** The chain whose capture checks run. */
  readonly chain: readonly string[];
  readonly codec: CaptureCodec;
  /** What to do when a capture check refuses: it depends on the job (what was stored, what to run). */
  readonly refusalHint: (appliance: string) => string;
  /** The text of a content resource: from the introspection's result, or from the catalog. */
  readonly contentOf: (appliance: string, resource: string) => Promise<Uint8Array | undefined>;
}

/** Why a file rehydrate renders from a template naming a password is not in the archive. */
export const TEMPLATE_WITH_PASSWORD = 'template-with-password';

/**
 * The files under `def.root` that one of the appliance's templates is rendered to and whose text
 * names a password property, relative to the root. Captured, such a file would carry the
 * reference's password in clear into the archive and every image built from it, although
 * rehydrate writes it whole (with the plan's password, and the owner and mode the plugin gives).
 */
export async function templatedPasswordFiles(
  appliance: Appliance,
  def: FileSetDefinition,
  contentOf: FileSetCaptureRequest['contentOf'],
): Promise<string[]> {
  const out: string[] = [];
  const base = def.root === '/' ? '/' : `${def.root}/`;
  for (const r of appliance.contentResources) {
    if (!r.template || r.renders === undefined || !r.renders.startsWith(base)) continue;
    const bytes = await contentOf(appliance.name, r.name);
    if (bytes === undefined) continue;
    const text = Buffer.from(bytes).toString('utf8');
    // Checked at introspection already; one that no longer parses cannot name anything here.
    let names: readonly string[];
    try {
      names = listTemplateVariables({ name: r.name, text }).map((v) => v.name);
    } catch {
      continue;
    }
    if (names.some((n) => appliance.properties.get(n)?.secret === true)) out.push(posix.relative(def.root, r.renders));
  }
  return [...new Set(out)].sort();
}

/** File set definitions this appliance owns and that are to be captured (siblings share their primary's). */
export function capturedDefinitions(appliance: Appliance): FileSetDefinition[] {
  return appliance.fileSetsFrom === undefined ? appliance.fileSets.filter((d) => d.captured) : [];
}

/**
 * What a capture check sees of the appliance: a deep-frozen plain snapshot, so a check can read
 * everything the dehydration (or the catalog) holds but change nothing that is about to be stored.
 */
export function captureApplianceView(appliance: Appliance): CaptureApplianceView {
  // toJSON masks password values.
  const properties = appliance.properties.list().map((p) => Object.freeze(p.toJSON()));
  const values = new Map(properties.map((p) => [p.name, p.value]));
  return Object.freeze({
    name: appliance.name,
    type: appliance.type,
    creator: appliance.creator,
    properties: Object.freeze(properties),
    fileSets: Object.freeze(appliance.fileSets.map((d) => deepFreeze(d.toPlain()))),
    contentResources: Object.freeze(appliance.contentResources.map((r) => r.name)),
    property: (name: string) => values.get(name),
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export async function captureFileSets(job: Job, services: ServiceCollector, request: FileSetCaptureRequest): Promise<StagedArchive[]> {
  const checks = chainServices(services, ServiceIds.PackagerValidationPlugin, request.chain);
  const out: StagedArchive[] = [];
  for (const appliance of request.appliances) {
    const view = captureApplianceView(appliance);
    for (const def of capturedDefinitions(appliance)) {
      job.checkpoint();
      for (const check of checks) {
        const input = { applianceName: appliance.name, fileSetRoots: [def.root], host: job.host, appliance: view, fileSet: def.name };
        const message = await job.call(check.pluginName, 'validateCapture', () => check.validateCapture(input));
        if (message) {
          throw new UserError('CAPTURE_REFUSED', `${check.pluginName} refused the capture of ${appliance.name}: ${message}`, {
            hint: request.refusalHint(appliance.name),
          });
        }
      }
      const file = join(job.scratchDir, `${out.length}.archive`);
      const label = `${appliance.name}/${def.name}`;
      const templated = await templatedPasswordFiles(appliance, def, request.contentOf);
      const r = await captureDefinition(job.host, def, {
        out: file,
        ...(templated.length > 0 ? { leaveOut: templated, leaveOutReason: TEMPLATE_WITH_PASSWORD } : {}),
        codec: request.codec,
        ...(job.signal ? { signal: job.signal } : {}),
        onProgress: (p) => job.progress.capture(label, p),
      });
      out.push({
        owner: request.ownerOf(appliance.name),
        appliance: appliance.name,
        fileSet: def.name,
        file,
        codec: r.codec,
        // Computed while the archive was written: the commit need not read it again.
        digest: { size: r.archiveBytes, sha256: r.sha256 },
        files: r.files,
        bytes: r.bytes,
        archiveBytes: r.archiveBytes,
        sha256: r.sha256,
        skipped: r.skipped,
      });
    }
  }
  return out;
}
