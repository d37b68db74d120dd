/**
 * Job parameters: the typed inputs of one introspection, declared by the plugin and by every
 * extension in its tree. This module checks the declarations and turns what the user gave
 * (command-line strings, files, environment) into typed values. No I/O.
 */
import { UserError } from './errors.js';
import type { JobParameterDefinition, JobParameterType, JobParameterValues } from './plugin-contract.js';

export const JOB_PARAMETER_TYPES: readonly JobParameterType[] = ['string', 'integer', 'boolean', 'path', 'password'];

/** Lower-case words joined by '-' so that `--<name>` reads like every other option. */
const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** Options the framework itself owns on every introspect command. */
export const RESERVED_OPTION_NAMES: ReadonlySet<string> = new Set([
  'help', 'json', 'host', 'instance', 'debug', 'appliance', 'name', 'defer-capture', 'codec', 'insecure-skip-host-key-check',
  'identity-file', 'known-hosts',
]);

export interface DeclaredParameter extends JobParameterDefinition {
  /** Plugin or extension that declared it. */
  readonly declaredBy: string;
}

/**
 * Merges the declarations of a plugin and its extensions (in execution order), rejecting
 * clashes: two owners of one name would make one of them silently receive the other's value.
 */
export function mergeParameterDefinitions(
  sources: readonly { plugin: string; parameters: readonly JobParameterDefinition[] }[],
): DeclaredParameter[] {
  const merged = new Map<string, DeclaredParameter>();
  for (const { plugin, parameters } of sources) {
    for (const p of parameters) {
      const where = `plugin ${plugin}: job parameter "${p.name}"`;
      if (!NAME.test(p.name)) {
        throw new UserError('JOB_PARAMETER_INVALID', 'the name must be lower-case words joined by "-" (e.g. "oracle-home")', { where });
      }
      if (RESERVED_OPTION_NAMES.has(p.name) || p.name.endsWith('-file')) {
        throw new UserError('JOB_PARAMETER_INVALID', `"${p.name}" is reserved for abctl's own options (and "*-file" for password files)`, {
          where,
          hint: 'rename the parameter in the plugin',
        });
      }
      if (!JOB_PARAMETER_TYPES.includes(p.type)) {
        throw new UserError('JOB_PARAMETER_INVALID', `unknown type "${String(p.type)}"; use one of ${JOB_PARAMETER_TYPES.join(', ')}`, { where });
      }
      if (p.type === 'password' && p.defaultValue !== undefined) {
        throw new UserError('JOB_PARAMETER_INVALID', 'a password parameter cannot have a default value', { where });
      }
      const other = merged.get(p.name);
      if (other) {
        throw new UserError('JOB_PARAMETER_CLASH', `declared by both ${other.declaredBy} and ${plugin}`, {
          where,
          hint: 'extensions must use parameter names of their own',
        });
      }
      if (p.defaultValue !== undefined) convertValue(p, String(p.defaultValue), `${where} (default)`);
      merged.set(p.name, { ...p, declaredBy: plugin });
    }
  }
  return [...merged.values()];
}

/** Environment variable that may carry a parameter's value: `AB_PARAM_ORACLE_HOME` for `oracle-home`. */
export function environmentVariableFor(name: string): string {
  return `AB_PARAM_${name.toUpperCase().replace(/-/g, '_')}`;
}

function convertValue(p: JobParameterDefinition, raw: string, where: string): string | number | boolean {
  switch (p.type) {
    case 'integer': {
      if (!/^[+-]?\d+$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) {
        throw new UserError('JOB_PARAMETER_VALUE', `"${raw}" is not an integer`, { where, hint: `give --${p.name} a whole number` });
      }
      return Number(raw);
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['true', 'yes', '1', 'on'].includes(v)) return true;
      if (['false', 'no', '0', 'off'].includes(v)) return false;
      throw new UserError('JOB_PARAMETER_VALUE', `"${raw}" is not a boolean`, { where, hint: 'use true or false' });
    }
    case 'path':
      if (raw.trim() === '') throw new UserError('JOB_PARAMETER_VALUE', 'the path is empty', { where });
      return raw;
    default:
      return raw;
  }
}

/** Where a raw value came from; passwords may only come from the last three. */
export type ValueOrigin = 'argv' | 'file' | 'env' | 'prompt';

export interface RawValue {
  readonly value: string;
  readonly origin: ValueOrigin;
}

/**
 * Typed values for every declared parameter: the given value, else the default; a required
 * parameter without either is reported together with every other missing one.
 */
export function resolveParameterValues(
  declared: readonly DeclaredParameter[],
  raw: ReadonlyMap<string, RawValue>,
): JobParameterValues {
  const values: Record<string, string | number | boolean | undefined> = {};
  const missing: string[] = [];
  for (const p of declared) {
    const given = raw.get(p.name);
    if (p.type === 'password' && given?.origin === 'argv') {
      throw new UserError('PASSWORD_IN_ARGV', `--${p.name} is a password and is never taken from the command line`, {
        hint: `use --${p.name}-file FILE, the ${environmentVariableFor(p.name)} environment variable, or answer the prompt`,
      });
    }
    if (given !== undefined) values[p.name] = convertValue(p, given.value, `--${p.name}`);
    else if (p.defaultValue !== undefined) values[p.name] = p.defaultValue;
    else if (p.required) missing.push(p.type === 'password' ? `--${p.name}-file (or ${environmentVariableFor(p.name)})` : `--${p.name}`);
  }
  if (missing.length > 0) {
    throw new UserError('JOB_PARAMETER_MISSING', `missing required parameter${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, {
      hint: 'see the command\'s --help for what each one means',
    });
  }
  return Object.freeze(values);
}
