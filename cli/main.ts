import { CommanderError } from 'commander';
import type { GlobalOptions } from './command-spec.js';
import { buildCli, builtInHelp } from './program.js';

// bin/abctl lends its import() to the bundle it runs from V8's code cache (services/module-import.ts).
export { lendImport } from '../services/module-import.js';

/** The built-in part of `abctl --help` at the current terminal width, for scripts/shipped-records.mjs. */
export function builtInHelpText(): string {
  return builtInHelp(buildCli().program);
}

export async function main(argv: readonly string[]): Promise<void> {
  const { program, dispatched } = buildCli();
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    // Help and --version end with exit code 0 through commander's exitOverride.
    if (err instanceof CommanderError && err.exitCode === 0) return;
    const globals = program.opts<GlobalOptions>();
    const command = dispatched();
    // --json seen in argv as well: a usage error can stop commander before it reaches --json.
    const json = command !== undefined && (command.opts().json === true || (command.options.some((o) => o.long === '--json') && argv.includes('--json')));
    // Loaded only on failure: every module costs start-up time, and --help must stay quick.
    const { reportError } = await import('./report-error.js');
    process.exitCode = await reportError(err, { debug: globals.debug === true, json, instance: globals.instance, command: command?.name() });
  }
}
