/**
 * The documented shape of what each hook returns (core/plugin-contract.ts), as checks that say
 * what was expected and what came back. Pure functions: validatePlugin runs them on a sample, and
 * a job may run them on live results.
 */
import { JOB_PARAMETER_TYPES } from '../../core/job-parameters.js';

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
  productInstallHomes: { expected: 'a list of absolute directory paths', check: listOf('paths', (v) => (typeof v === 'string' && v.startsWith('/') ? undefined : 'expected an absolute path')) },
  validateCapture: { expected: 'undefined (go on) or a string (the refusal)', check: (v) => (v === undefined || v === null || typeof v === 'string' ? undefined : `expected undefined or a string, got ${show(v)}`) },
  validatePlatform: { expected: "a list of { severity: 'warning' | 'rejection', message }", check: listOf('validation messages', validationMessage) },
  discover: { expected: 'a list of { description, parameters }', check: listOf('installations', discovered) },
  ping: { expected: '{ healthy: boolean, message: string }', check: (v) => (isObject(v) && typeof v['healthy'] === 'boolean' && typeof v['message'] === 'string' ? undefined : `expected { healthy: boolean, message: string }, got ${show(v)}`) },
});

/** Checks one hook's result; undefined when the hook has no documented shape or the value fits. */
export function checkHookResult(hook: string, value: unknown): string | undefined {
  return HOOK_SHAPES[hook]?.check(value);
}
