/**
 * What the catalog commands share: the catalog and editing services from the
 * application's container, and value input for properties.
 */
import type { Catalog } from '../../../catalog/index.js';
import type { DeploymentPlanService, EditingService, PropertyTarget } from '../../../services/editing/index.js';
import type { GlobalOptions } from '../../command-table.js';
import { withApplication } from '../../session.js';
import { UserError } from '../../../core/errors.js';

export interface CatalogServices {
  readonly catalog: Catalog;
  readonly editing: EditingService;
  readonly plans: DeploymentPlanService;
}

/** Editing needs no plugin code, so plugins are not activated (commands stay fast). */
export async function withCatalog<T>(globals: GlobalOptions, fn: (s: CatalogServices) => Promise<T>): Promise<T> {
  return withApplication(globals, { activate: false }, async (app) => {
    const [{ Catalog }, editing] = await Promise.all([import('../../../catalog/index.js'), import('../../../services/editing/index.js')]);
    return fn({ catalog: app.get(Catalog), editing: app.get(editing.EditingService), plans: app.get(editing.DeploymentPlanService) });
  });
}

export function str(opts: Record<string, unknown>, key: string): string | undefined {
  const v = opts[key];
  return typeof v === 'string' ? v : undefined;
}

/** A required option (commander checks presence; this keeps the type narrow). */
export function req(opts: Record<string, unknown>, key: string): string {
  const v = str(opts, key);
  if (v === undefined) throw new UserError('OPTION_MISSING', `option --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is required`);
  return v;
}

/**
 * The object a property command is about. `--assembly A` and/or `--appliance P` (inside
 * the assembly a member path such as `tier/web`; without --assembly a catalog appliance),
 * then `--path`, `--input`, `--output` or `--interface` go further down.
 */
export function propertyTarget(opts: Record<string, unknown>): PropertyTarget {
  const assembly = str(opts, 'assembly');
  const appliance = str(opts, 'appliance');
  const parts: string[] = [];
  if (assembly !== undefined && appliance !== undefined) parts.push(appliance);
  const path = str(opts, 'path');
  if (path !== undefined && path !== '') parts.push(path);
  const given = (['input', 'output', 'interface'] as const).filter((k) => str(opts, k) !== undefined);
  if (given.length > 1) {
    throw new UserError('OPTION_CONFLICT', `give only one of --input, --output, --interface (got ${given.map((g) => `--${g}`).join(', ')})`);
  }
  for (const k of given) parts.push(k, str(opts, k) as string);
  if (assembly === undefined && appliance === undefined) {
    throw new UserError('OPTION_MISSING', 'say which object: --assembly A (with --appliance/--path for a member) or --appliance NAME for a catalog appliance', {
      hint: 'e.g. abctl setProperty --assembly shop --appliance web --input http --property port --value 8081',
    });
  }
  const joined = parts.join('/');
  return assembly !== undefined ? { assembly, path: joined } : { appliance: appliance as string, path: joined };
}
