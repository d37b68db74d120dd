import { promptHidden } from '../../../services/secrets/password-input.js';
import type { PropertyTargetOptions, SetPropertyOptions } from '../../catalog-commands.js';
import type { CommandRun } from '../../command-spec.js';
import { printJson } from '../../session.js';
import { propertyTarget, withCatalog } from './context.js';
import { readPropertyValue } from './value-input.js';

export const setProperty: CommandRun<SetPropertyOptions> = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const target = propertyTarget(opts);
    const name = opts.property;
    // The type decides where the value may come from (passwords never from argv), so look first.
    const current = await editing.getProperty(target, name);
    const value = await readPropertyValue(`${current.where} > property "${name}"`, current.property.secret, {
      value: opts.value,
      file: opts.valueFile,
      env: process.env,
      interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
      prompt: promptHidden,
    });
    const change = await editing.setProperty(target, name, value);
    if (opts.json) printJson({ where: change.where, property: change.property.toJSON() });
    else process.stdout.write(`${change.where}: set ${change.property.toString()}\n`);
    return 0;
  });

export const unsetProperty: CommandRun<PropertyTargetOptions> = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const change = await editing.unsetProperty(propertyTarget(opts), opts.property);
    if (opts.json) printJson({ where: change.where, property: change.property.toJSON() });
    else process.stdout.write(`${change.where}: ${change.property.toString()}\n`);
    return 0;
  });
