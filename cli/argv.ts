/**
 * The reference CLI spells long options with one dash (`-name value`); commander wants
 * two. Rewrite `-word` (two or more characters after the dash) to `--word`, leaving short
 * flags like `-h`, negative numbers and everything after `--` alone.
 */
export function normalizeArgv(args: readonly string[]): string[] {
  const out: string[] = [];
  let passthrough = false;
  for (const arg of args) {
    if (passthrough || arg === '--') {
      passthrough = true;
      out.push(arg);
    } else if (/^-[A-Za-z][\w-]+(=.*)?$/s.test(arg)) {
      out.push(`-${arg}`);
    } else {
      out.push(arg);
    }
  }
  return out;
}
