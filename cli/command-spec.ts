/**
 * How a command is declared: its name, help text, typed options and the module that runs it.
 * Declarations are plain data, so `abctl --help` and `abctl X --help` load no command code.
 */

/** Options every command takes, before or after the command name. */
export interface GlobalOptions {
  readonly instance?: string;
  readonly debug?: boolean;
}

/** `allowDowngrade` -> `allow-downgrade`: commander's camelCase rule, run backwards. */
type Kebab<S extends string> = S extends `${infer C}${infer R}` ? `${C extends Lowercase<C> ? C : `-${Lowercase<C>}`}${Kebab<R>}` : S;

/** The flags commander would store under key K: `--k`, `--k <value>`, `--k [value]`, or `--no-k` (K true unless given). */
type FlagsOf<K extends string> = `--${Kebab<K>}` | `--${Kebab<K>} <${string}>` | `--${Kebab<K>} [${string}]` | `--no-${Kebab<K>}`;

/** One option of a command whose options type is O; the flags must name a field of O. */
export interface OptionSpec<O> {
  readonly flags: FlagsOf<keyof O & string>;
  readonly description: string;
  readonly required?: boolean;
  readonly defaultValue?: string | boolean;
  readonly choices?: readonly string[];
  /** Left out of --help: declared only so that the command answers with a clear refusal instead of commander's "unknown option". */
  readonly hidden?: boolean;
}

/** What an implementation module exports as `run`. Returns the process exit code. */
export type CommandRun<O> = (options: O, globals: GlobalOptions) => Promise<number>;

/** A positional argument (`abctl validatePlugin DIR`), stored in the options under `key`. */
export interface ArgumentSpec<O> {
  readonly key: keyof O & string;
  /** As help shows it: `<dir>` (required) or `[dir]` (optional). */
  readonly name: `<${string}>` | `[${string}]`;
  readonly description: string;
}

export interface CommandSpec<O> {
  readonly name: string;
  readonly summary: string;
  /** Extra paragraph shown by `abctl <name> --help`. */
  readonly details?: string;
  readonly arguments?: readonly ArgumentSpec<O>[];
  readonly options: readonly OptionSpec<O>[];
  readonly load: () => Promise<{ run: CommandRun<O> }>;
}

/** A command with its options type erased, so commands of different types share one list. */
export interface CommandDefinition {
  readonly name: string;
  readonly summary: string;
  readonly details?: string;
  readonly arguments?: readonly { readonly key: string; readonly name: string; readonly description: string }[];
  readonly options: readonly (Omit<OptionSpec<never>, 'flags'> & { readonly flags: string })[];
  readonly load: () => Promise<{ run: CommandRun<object> }>;
}

/**
 * The one place where options lose their type: commander fills the options object from the
 * flags, and the flags were checked against O above.
 */
export function defineCommand<O>(spec: CommandSpec<O>): CommandDefinition {
  return spec as unknown as CommandDefinition;
}

export interface JsonOption {
  readonly json?: boolean;
}

export const jsonOption: OptionSpec<JsonOption> = { flags: '--json', description: 'print machine-readable JSON instead of text (errors too)' };

/** How to reach a reference host; the same four options on every command that connects. */
export interface HostOptions {
  readonly host?: string;
  readonly identityFile?: string;
  readonly knownHosts?: string;
  readonly insecureSkipHostKeyCheck?: boolean;
}

export function hostOptions(host: string): OptionSpec<HostOptions>[] {
  return [
    { flags: '--host <user@host[:port]>', description: host },
    { flags: '--identity-file <file>', description: 'SSH private key (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa, or the agent)' },
    { flags: '--known-hosts <file>', description: 'known_hosts file to check the host key against (default: ~/.ssh/known_hosts)' },
    { flags: '--insecure-skip-host-key-check', description: 'do not check the SSH host key (prints a warning)' },
  ];
}

export type Codec = 'gzip' | 'zstd' | 'none';

export interface CodecOption {
  readonly codec: Codec;
}

export const codecOption: OptionSpec<CodecOption> = {
  flags: '--codec <codec>',
  description: 'archive compression',
  choices: ['gzip', 'zstd', 'none'],
  defaultValue: 'gzip',
};
