/**
 * What the catalog commands share: the catalog and editing services from the
 * application's container, and value input for properties.
 */
import type { Catalog } from '../../../catalog/index.js';
import type { DeploymentPlanService, EditingService, PropertyTarget } from '../../../services/editing/index.js';
import type { PropertyTargetOptions } from '../../catalog-commands.js';
import type { GlobalOptions } from '../../command-spec.js';
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

/**
 * The object a property command is about. `--assembly A` and/or `--appliance P` (inside
 * the assembly a member path such as `tier/web`; without --assembly a catalog appliance),
 * then `--path`, `--input`, `--output` or `--interface` go further down.
 */
export function propertyTarget(opts: PropertyTargetOptions): PropertyTarget {
  const { assembly, appliance, path } = opts;
  const parts: string[] = [];
  if (assembly !== undefined && appliance !== undefined) parts.push(appliance);
  if (path !== undefined && path !== '') parts.push(path);
  const given = (['input', 'output', 'interface'] as const).filter((k) => opts[k] !== undefined);
  if (given.length > 1) {
    throw new UserError('OPTION_CONFLICT', `give only one of --input, --output, --interface (got ${given.map((g) => `--${g}`).join(', ')})`);
  }
  for (const k of given) parts.push(k, opts[k]!);
  if (assembly === undefined && appliance === undefined) {
    throw new UserError('OPTION_MISSING', 'say which object: --assembly A (with --appliance/--path for a member) or --appliance NAME for a catalog appliance', {
      hint: 'e.g. abctl setProperty --assembly shop --appliance web --input http --property port --value 8081',
    });
  }
  const joined = parts.join('/');
  return assembly !== undefined ? { assembly, path: joined } : { appliance: appliance!, path: joined };
}
