/**
 * The documented shape of what each hook returns (core/plugin-contract.ts), as checks that say
 * what was expected and what came back. Every hook call checks its result with these
 * (services/plugin-hooks.ts), so a plugin returning the wrong thing is reported as that plugin's
 * mistake, not as a crash of abctl; validatePlugin runs them on a sample. No I/O.
 */
import { JOB_PARAMETER_TYPES } from './job-parameters.js';

/** Why `value` is not what hook `hook` must return; undefined when it is. */
export type ShapeCheck = (value: unknown) => string | undefined;

const show = (value: unknown): string => {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A list whose every item passes `item`; the first bad item is named by index. */
function listOf(what: string, item: (v: unknown) => string | undefined): ShapeCheck {
  return (value) => {
    if (!Array.isArray(value)) return `expected a list of ${what}, got ${show(value)}`;
    for (let i = 0; i < value.length; i++) {
      const why = item(value[i]);
      if (why !== undefined) return `item ${i} (${show(value[i])}): ${why}`;
    }
    return undefined;
  };
}

function jobParameter(v: unknown): string | undefined {
  if (!isObject(v)) return 'expected { name, type, description, required?, defaultValue? }';
  if (typeof v['name'] !== 'string') return 'name must be a string';
  if (typeof v['type'] !== 'string' || !(JOB_PARAMETER_TYPES as readonly string[]).includes(v['type'])) return `type must be one of ${JOB_PARAMETER_TYPES.join(', ')}`;
  if (typeof v['description'] !== 'string') return 'description must be a string';
  if (v['required'] !== undefined && typeof v['required'] !== 'boolean') return 'required must be true or false';
  const d = v['defaultValue'];
  if (d !== undefined && typeof d !== 'string' && typeof d !== 'number' && typeof d !== 'boolean') return 'defaultValue must be a string, number or boolean';
  return undefined;
}

function validationMessage(v: unknown): string | undefined {
  if (!isObject(v) || (v['severity'] !== 'warning' && v['severity'] !== 'rejection') || typeof v['message'] !== 'string') {
    return "expected { severity: 'warning' | 'rejection', message: string }";
  }
  return undefined;
}

function discovered(v: unknown): string | undefined {
  if (!isObject(v) || typeof v['description'] !== 'string' || !isObject(v['parameters'])) return 'expected { description: string, parameters: { name: value } }';
  return undefined;
}

/** Hook name -> check of its (awaited) result. */
export const HOOK_SHAPES: Readonly<Record<string, { readonly expected: string; readonly check: ShapeCheck }>> = Object.freeze({
  jobParameters: { expected: 'a list of { name, type, description, required?, defaultValue? }', check: listOf('job parameter definitions', jobParameter) },
  productInstallHomes: { expected: 'a list of directory paths', check: listOf('paths', (v) => (typeof v === 'string' && v !== '' ? undefined : 'expected a directory path')) },
  validateCapture: { expected: 'undefined (go on) or a string (the refusal)', check: (v) => (v === undefined || v === null || typeof v === 'string' ? undefined : `expected undefined or a string, got ${show(v)}`) },
  validatePlatform: { expected: "a list of { severity: 'warning' | 'rejection', message }", check: listOf('validation messages', validationMessage) },
  discover: { expected: 'a list of { description, parameters }', check: listOf('installations', discovered) },
});

/** The documented shape of `hook`'s result; own keys only (`constructor` is a hook name too). */
export function hookShape(hook: string): { readonly expected: string; readonly check: ShapeCheck } | undefined {
  return Object.hasOwn(HOOK_SHAPES, hook) ? HOOK_SHAPES[hook] : undefined;
}

