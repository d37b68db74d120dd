import { readFile, stat } from 'node:fs/promises';
import { UserError } from '../../core/errors.js';
import { environmentVariableFor, type DeclaredParameter, type RawValue } from '../../core/job-parameters.js';

export interface PasswordSources {
  /** Value of `--<name>-file`, if given. */
  readonly file: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** Whether a person can be asked (stdin and stderr are terminals). */
  readonly interactive: boolean;
  /** Asks without echo; only called when `interactive`. */
  readonly prompt: (message: string) => Promise<string>;
}

/**
 * A password parameter's value, from (in order) its file, its environment variable or a
 * prompt. Never from argv: the process list and shell history would keep it.
 */
export async function readPasswordParameter(p: DeclaredParameter, sources: PasswordSources): Promise<RawValue | undefined> {
  if (sources.file !== undefined) {
    const info = await stat(sources.file).catch(() => undefined);
    if (!info?.isFile()) {
      throw new UserError('PASSWORD_FILE_MISSING', `cannot read the password file for --${p.name}`, {
        where: sources.file,
        hint: 'give the path of a file that holds the password on its first line',
      });
    }
    // Only the first line: editors add a trailing newline that is not part of the password.
    const text = await readFile(sources.file, 'utf8');
    return { value: text.split(/\r?\n/, 1)[0] ?? '', origin: 'file' };
  }
  const fromEnv = sources.env[environmentVariableFor(p.name)];
  if (fromEnv !== undefined) return { value: fromEnv, origin: 'env' };
  if (sources.interactive) {
    return { value: await sources.prompt(`${p.description} (${p.name}): `), origin: 'prompt' };
  }
  if (p.required) {
    throw new UserError('PASSWORD_UNAVAILABLE', `--${p.name} is required and there is no terminal to ask for it`, {
      hint: `use --${p.name}-file FILE or set ${environmentVariableFor(p.name)}`,
    });
  }
  return undefined;
}

/** Prompts on the terminal without echo; the prompt goes to stderr so stdout stays clean for --json. */
export async function promptHidden(message: string): Promise<string> {
  const { default: password } = await import('@inquirer/password');
  return password({ message, mask: false }, { output: process.stderr });
}
