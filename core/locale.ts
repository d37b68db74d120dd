/**
 * Which locale the user wants, from the environment: apart from core/messages.ts (which
 * re-exports it) so that bin/abctl's quick path (cli/fast-path.ts) can pick a build-time
 * record by locale without loading the message file parser. No I/O.
 */

/** The locale every plugin's texts fall back to; also what `C` and `POSIX` mean. */
export const DEFAULT_LOCALE = 'en';

/** `fr`, `fr_CA`, `zh_Hant_TW`: a two- or three-letter language, then `_`-separated parts (region, script). */
export const LOCALE_PATTERN = /^([A-Za-z]{2,3})((?:_[A-Za-z0-9]{2,8})*)$/;

/**
 * A locale as environment variables write it (`fr_CA.UTF-8`, `de_DE@euro`, `C.UTF-8`) in the
 * form message files are named after (`fr_CA`, `de_DE`, `en`); undefined when it is not one.
 */
export function normalizeLocale(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const bare = raw.trim().replace(/@.*$/, '').replace(/\..*$/, '').replace(/-/g, '_');
  if (bare === 'C' || bare === 'POSIX') return DEFAULT_LOCALE;
  const m = LOCALE_PATTERN.exec(bare);
  if (!m) return undefined;
  // Region codes are upper case in file names (fr_CA), whatever the variable said.
  const rest = (m[2] ?? '').split('_').slice(1).map((p) => (/^[A-Za-z]{2}$/.test(p) ? p.toUpperCase() : p));
  return [m[1]!.toLowerCase(), ...rest].join('_');
}

/**
 * The user's locale for messages, in POSIX order: the first of LC_ALL, LC_MESSAGES, LANG that
 * is set and not empty decides (a later one is not consulted even when that one is unusable);
 * English when none is set or the value is not a locale.
 */
export function userLocale(env: Readonly<Record<string, string | undefined>>): string {
  for (const name of ['LC_ALL', 'LC_MESSAGES', 'LANG']) {
    const value = env[name];
    if (value !== undefined && value !== '') return normalizeLocale(value) ?? DEFAULT_LOCALE;
  }
  return DEFAULT_LOCALE;
}
