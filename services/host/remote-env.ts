/**
 * Environment values for a remote command, kept off every command line: the remote shell
 * line names the variables only and reads their values from the channel's stdin, one line
 * each, before it exec()s the program. A command line is world-readable (`ps`,
 * /proc/PID/cmdline); stdin is not. (ssh2's `env` option would need AcceptEnv on the
 * server, which is off by default.)
 *
 * `read -r` takes a line as is, so a value only needs encoding when it holds a newline
 * (or a backslash, which the encoding itself uses): then `\` and newline are sent as `\\`
 * and `\n` and decoded by the shell's built-in `printf %b`. The `x` guards trailing
 * newlines, which command substitution would strip.
 */

export interface RemoteEnv {
  /** Shell text to run before the command; it names the variables, never their values. */
  readonly script: string;
  /** What to write to the channel's stdin first; empty when there is no variable. */
  readonly stdin: Buffer;
}

/** `entries` must be checked already (checkEnv: valid names, no NUL). */
export function remoteEnv(entries: readonly (readonly [string, string])[]): RemoteEnv {
  const script: string[] = [];
  const lines: string[] = [];
  for (const [name, value] of entries) {
    const encode = /[\\\n]/.test(value);
    lines.push(encode ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : value);
    script.push(`IFS= read -r ${name} || exit 253;`);
    if (encode) script.push(`${name}=$(printf '%bx' "$${name}"); ${name}=\${${name}%x};`);
    script.push(`export ${name};`);
  }
  return { script: script.join(' '), stdin: Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8') };
}
