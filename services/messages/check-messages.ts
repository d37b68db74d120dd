/** The `messages` check of `abctl validatePlugin` (services/authoring/validation.ts). */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fg from 'fast-glob';
import {
  checkMessageFiles,
  DEFAULT_LOCALE,
  localeOfFileName,
  messageIdsInCode,
  parseMessageFile,
  type MessageProblem,
  type ParsedMessageFile,
} from '../../core/messages.js';
import { MESSAGES_DIR } from './message-files.js';

/**
 * Everything wrong with a plugin's message files, each with `file:line`: file names that are
 * not locales, files that are not UTF-8 or do not parse, ids and placeholders inconsistent
 * with English, and ids the plugin's code asks for that English lacks (`abctl validatePlugin`).
 */
export async function checkMessagesDirectory(dir: string): Promise<MessageProblem[]> {
  const messagesDir = join(dir, MESSAGES_DIR);
  const names = await readdir(messagesDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [] as string[];
    throw err;
  });
  const problems: MessageProblem[] = [];
  const files: ParsedMessageFile[] = [];
  for (const name of names.sort()) {
    const file = join(messagesDir, name);
    if (!name.endsWith('.properties')) continue;
    const locale = localeOfFileName(name);
    if (locale === undefined) {
      problems.push({ code: 'MESSAGES_FILE_NAME', message: `${name} is not named after a locale`, where: file, hint: 'name message files <language>[_<REGION>].properties, e.g. en.properties, fr.properties, fr_CA.properties' });
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      problems.push({ code: 'MESSAGES_UNREADABLE', message: `cannot read it: ${(err as Error).message}`, where: file, hint: 'make the file readable (it ships with the plugin)' });
      continue;
    }
    const text = bytes.toString('utf8');
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      const line = text.slice(0, text.indexOf('\uFFFD')).split('\n').length;
      problems.push({ code: 'MESSAGES_NOT_UTF8', message: 'the file is not UTF-8', where: `${file}:${line}`, hint: 'save it as UTF-8 (message files are read as UTF-8, unlike Java\'s ISO-8859-1 default)' });
    }
    const { parsed, problems: own } = parseMessageFile(text, file, locale);
    problems.push(...own);
    files.push(parsed);
  }
  const englishFile = join(messagesDir, `${DEFAULT_LOCALE}.properties`);
  problems.push(...checkMessageFiles(files, englishFile));
  const english = new Set(files.find((f) => f.locale === DEFAULT_LOCALE)?.entries.map((e) => e.id) ?? []);
  const code = await fg(['**/*.{js,mjs,cjs,ts,mts,cts}'], { cwd: dir, absolute: true, ignore: ['**/node_modules/**', '**/*.d.ts'] });
  for (const source of code.sort()) {
    const text = await readFile(source, 'utf8').catch(() => '');
    for (const { id, line } of messageIdsInCode(text)) {
      if (english.has(id)) continue;
      problems.push({ code: 'MESSAGES_ID_UNDEFINED', message: `the code asks for message "${id}", which ${englishFile} does not define`, where: `${source}:${line}`, hint: `add ${id}=<text> to messages/en.properties, or correct the id` });
    }
  }
  return problems;
}
