import { Command, Option } from 'commander';
import { normalizeArgv } from './argv.js';
import { COMMANDS, type CommandSpec, type GlobalOptions } from './command-table.js';
import { introspectionHelp } from './help-plugins.js';
import { reportError } from './report-error.js';

const VERSION = '0.1.0';

function addCommand(program: Command, spec: CommandSpec): void {
  const cmd = program.command(spec.name).summary(spec.summary).description(spec.details ? `${spec.summary}\n\n${spec.details}` : spec.summary);
  for (const o of spec.options) {
    const option = new Option(o.flags, o.description);
    if (o.required) option.makeOptionMandatory();
    if (o.defaultValue !== undefined) option.default(o.defaultValue);
    cmd.addOption(option);
  }
  cmd.action(async (opts: Record<string, unknown>, self: Command) => {
    const globals = self.optsWithGlobals<GlobalOptions>();
    const { run } = await spec.load();
    process.exitCode = await run(opts, globals);
  });
}

export function buildProgram(): Command {
  const program = new Command('abctl')
    .description('Capture an installed product from a reference host and re-create it, reconfigured, on new machines.')
    .version(VERSION, '--version', 'print the abctl version')
    .option('--instance <dir>', 'instance directory (default: $AB_INSTANCE, else ~/.abctl)')
    .option('--debug', 'print stack traces of internal errors')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nIntrospection commands come from the plugins: introspect<name> for every enabled plugin and alias\n' +
        'extension (abctl describePlugins lists them; abctl introspect<name> --help shows their options).\n' +
        'Long options may also be written with one dash, as in the reference CLI: -name value.',
    );
  for (const spec of COMMANDS) addCommand(program, spec);
  return program;
}

/** Global options that take a value, so the command word can be found without parsing. */
const GLOBAL_VALUE_OPTIONS = new Set(['--instance']);

/** The command word and its position, skipping global options before it. */
export function findCommand(args: readonly string[]): { index: number; name: string } | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (GLOBAL_VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) return { index: i, name: a };
  }
  return undefined;
}

export async function main(argv: readonly string[]): Promise<void> {
  const args = normalizeArgv(argv);
  // One switch for everything that logs: framework stack traces and plugins' debug lines.
  if (args.includes('--debug')) process.env.AB_DEBUG = '1';
  try {
    // introspect<name> commands exist only once the plugins are known: built on demand.
    const command = findCommand(args);
    if (command && /^introspect./.test(command.name) && !COMMANDS.some((c) => c.name === command.name)) {
      const { runIntrospectCommand } = await import('./commands/introspect.js');
      process.exitCode = await runIntrospectCommand(args.slice(0, command.index), command.name, args.slice(command.index + 1));
      return;
    }
    const program = buildProgram();
    if (!command || command.name === 'help' && args.length === command.index + 1) {
      const instance = args[args.indexOf('--instance') + 1];
      program.addHelpText('after', await introspectionHelp(args.includes('--instance') ? instance : undefined));
    }
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    process.exitCode = reportError(err, args.includes('--debug'));
  }
}
