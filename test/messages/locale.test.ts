/** The rules of core/messages.ts: which locale the environment names, and which files answer. */
import { describe, expect, it } from 'vitest';
import { createMessages, fallbackText, formatMessage, localeChain, normalizeLocale, userLocale } from '../../core/messages.js';

describe('the user locale', () => {
  it('is the first of LC_ALL, LC_MESSAGES, LANG that is set and not empty', () => {
    expect(userLocale({ LANG: 'fr_FR.UTF-8' })).toBe('fr_FR');
    expect(userLocale({ LANG: 'fr_FR.UTF-8', LC_MESSAGES: 'de_DE' })).toBe('de_DE');
    expect(userLocale({ LANG: 'fr_FR', LC_MESSAGES: 'de_DE', LC_ALL: 'it_IT.UTF-8' })).toBe('it_IT');
    expect(userLocale({ LANG: 'fr_FR', LC_ALL: '' })).toBe('fr_FR');
    // The variable that decides is not passed over when its value is unusable.
    expect(userLocale({ LANG: 'fr_FR', LC_ALL: 'not a locale' })).toBe('en');
    expect(userLocale({})).toBe('en');
  });

  it('drops the codeset and modifier; C and POSIX are English', () => {
    expect(['de_DE@euro', 'sr_RS.UTF-8@latin', 'C', 'C.UTF-8', 'POSIX', 'pt-br', 'FR'].map(normalizeLocale)).toEqual(['de_DE', 'sr_RS', 'en', 'en', 'en', 'pt_BR', 'fr']);
  });

  it('falls back from region to language to English', () => {
    expect(localeChain('fr_CA')).toEqual(['fr_CA', 'fr', 'en']);
    expect(localeChain('en_GB')).toEqual(['en_GB', 'en']);
    expect(localeChain('en')).toEqual(['en']);
  });
});

describe('formatting', () => {
  it('fills {n} by position, keeps braces it cannot fill, and shows the id with its arguments when nothing has it', () => {
    expect(formatMessage("l'hôte {1} refuse {0} ({0}) {2} {x}", ['alice', 'db1'])).toBe("l'hôte db1 refuse alice (alice) {2} {x}");
    expect(fallbackText('name_clash', ['db', 2])).toBe('name_clash("db", 2)');
    const m = createMessages((l) => (l === 'fr' ? new Map([['a', 'A fr {0}']]) : l === 'en' ? new Map([['a', 'A {0}'], ['b', 'B']]) : undefined), 'fr_BE');
    expect([m.format('a', 1), m.format('b'), m.format('c', 'x'), m.has('b'), m.has('c')]).toEqual(['A fr 1', 'B', 'c("x")', true, false]);
    const err = m.error('a', [7], { hint: 'b', code: 'A_FAILED' }) as Error & { id: string; code: string; hint: string; args: unknown[] };
    expect([err.message, err.id, err.code, err.hint, err.args]).toEqual(['A fr 7', 'a', 'A_FAILED', 'B', [7]]);
    expect((m.error('c', [], { hint: 'plain text hint' }) as Error & { hint: string }).hint).toBe('plain text hint');
  });
});
