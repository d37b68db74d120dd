import { readFile, stat } from 'node:fs/promises';
import { UserError } from '../../../core/errors.js';

/** Environment variable a property value may come from (the way to pass a password in scripts). */
export const PROPERTY_VALUE_ENV = 'AB_PROPERTY_VALUE';

export interface ValueSources {
  readonly value: string | undefined;
  readonly file: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly interactive: boolean;
  readonly prompt: (message: string) => Promise<string>;
}

async function fromFile(file: string): Promise<string> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    throw new UserError('VALUE_FILE_MISSING', 'cannot read the value file', { where: file, hint: 'give the path of a file holding the value on its first line' });
  }
  // First line only: editors add a trailing newline that is not part of the value.
  return (await readFile(file, 'utf8')).split(/\r?\n/, 1)[0] ?? '';
}

/**
 * A property's new value. Passwords never come from argv (the process list and shell
 * history would keep them): only --value-file, $AB_PROPERTY_VALUE or a hidden prompt.
 * Other types take --value, --value-file or the variable.
 */
export async function readPropertyValue(label: string, secret: boolean, s: ValueSources): Promise<string> {
  if (secret && s.value !== undefined) {
    throw new UserError('PASSWORD_ON_COMMAND_LINE', `${label} is a password; password values are never taken from the command line`, {
      hint: `use --value-file FILE, set ${PROPERTY_VALUE_ENV}, or leave both out to be asked (the value is not echoed)`,
    });
  }
  if (s.value !== undefined && s.file !== undefined) {
    throw new UserError('OPTION_CONFLICT', 'give either --value or --value-file, not both');
  }
  if (s.value !== undefined) return s.value;
  if (s.file !== undefined) return fromFile(s.file);
  const env = s.env[PROPERTY_VALUE_ENV];
  if (env !== undefined) return env;
  if (secret && s.interactive) return s.prompt(`${label}: `);
  throw new UserError('VALUE_MISSING', `no value given for ${label}`, {
    hint: secret ? `use --value-file FILE or set ${PROPERTY_VALUE_ENV} (there is no terminal to ask)` : `use --value VALUE, --value-file FILE or set ${PROPERTY_VALUE_ENV}`,
  });
}
