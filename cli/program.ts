/**
 * The one commander program behind every command. Built-in commands come from static
 * declarations (COMMANDS); `introspect<name>` commands are declared by the plugins and
 * built the same way once these are loaded. The global options (--instance, --debug) are
 * declared once, on the program: commander reads them before or after the command name.
 */
import { Command, Option } from 'commander';
import { COMMANDS } from './command-table.js';
import type { CommandDefinition, GlobalOptions } from './command-spec.js';
import { ABCTL_VERSION } from './version.js';


const AFTER_HELP =
  '\nIntrospection commands come from the plugins: introspect<name> for every enabled plugin and alias\n' +
  'extension (abctl describePlugins lists them; abctl introspect<name> --help shows their options).\n' +
  'Long options may also be written with one dash, as in the reference CLI: -name value.\n' +
  'With --json, a failure prints {"error": {"code", "message", "hint", "where", "plugin"}} on stdout too.\n';

/** commander's Command, also reading a long option written with one dash (`-name x`), as the reference CLI does. */
class AbctlCommand extends Command {
  override parseOptions(args: string[]): ReturnType<Command['parseOptions']> {
    return super.parseOptions(doubleDashed(args, this.options));
  }
}

/**
 * `-word` becomes `--word` when `--word` is an option of the command (or --help, --version), unless it is
 * the value of the option before it; short flags, negative numbers and words after `--` stay.
 */
function doubleDashed(args: readonly string[], options: readonly Option[]): string[] {
  const known = new Set(['--help', '--version', ...options.map((o) => o.long)]);
  const takesValue = new Set(options.filter((o) => o.required).map((o) => o.long));
  const out: string[] = [];
  for (const [i, arg] of args.entries()) {
    if (arg === '--') return [...out, ...args.slice(i)];
    const long = /^-([A-Za-z][\w-]+)(=.*)?$/s.exec(arg);
    const isValue = out.length > 0 && takesValue.has(out[out.length - 1]);
    out.push(long && !isValue && known.has(`--${long[1]}`) ? `-${arg}` : arg);
  }
  return out;
}

/** True when the words before `--` ask for the command's help (`-help` is read as --help, see doubleDashed). */
function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h' || a === '-help');
}

function commandFrom(def: CommandDefinition, extraOptions: readonly Option[] = []): Command {
  const cmd = new AbctlCommand(def.name)
    .summary(def.summary)
    .description(def.details ? `${def.summary}\n\n${def.details}` : def.summary)
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError(`(abctl ${def.name} --help for usage)`)
    .exitOverride();
  for (const o of def.options) {
    const option = new Option(o.flags, o.description);
    if (o.required) option.makeOptionMandatory();
    if (o.defaultValue !== undefined) option.default(o.defaultValue);
    if (o.choices) option.choices(o.choices);
    if (o.hidden) option.hideHelp();
    cmd.addOption(option);
  }
  for (const o of extraOptions) cmd.addOption(o);
  for (const a of def.arguments ?? []) cmd.argument(a.name, a.description);
  return cmd.action(async (...args: unknown[]) => {
    const { run } = await def.load();
    const positional = Object.fromEntries((def.arguments ?? []).map((a, i) => [a.key, args[i]]));
    process.exitCode = await run({ ...cmd.opts(), ...positional }, cmd.parent?.opts<GlobalOptions>() ?? {});
  });
}

/**
 * The top-level help before the instance's introspect commands: commander's text (wrapped to the
 * terminal) and the notes after it. The build records it per width (scripts/shipped-records.mjs).
 */
export function builtInHelp(program: Command): string {
  return `${program.helpInformation()}${AFTER_HELP}`;
}

export interface Cli {
  readonly program: Command;
  /** The command that was dispatched, if any: its --json decides how a failure is printed. */
  readonly dispatched: () => Command | undefined;
}

export function buildCli(): Cli {
  let dispatched: Command | undefined;
  const program: Command = new AbctlCommand('abctl')
    .description('Capture an installed product from a reference host and re-create it, reconfigured, on new machines.')
    .option('--instance <dir>', 'instance directory (default: $AB_INSTANCE, else ~/.abctl)')
    .option('--debug', "print stack traces of internal errors and the plugins' debug lines")
    // What is not a built-in command (help, --version, introspect<name>, a typo) reaches the
    // action below, which may need the instance first; commander's own help would answer too early.
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .exitOverride()
    .configureHelp({
      visibleOptions: (cmd) => [
        ...cmd.options.filter((o) => !o.hidden),
        new Option('--version', 'print the abctl version'),
        new Option('-h, --help', 'print this help (abctl <command> --help, or abctl help <command>, for one command)'),
      ],
    });
  // One switch for everything that logs: framework stack traces and plugins' debug lines.
  program.on('option:debug', () => {
    process.env.AB_DEBUG = '1';
  });
  program.hook('preSubcommand', (_program, sub) => {
    dispatched = sub;
  });
  for (const def of COMMANDS) program.addCommand(commandFrom(def));

  const dispatch = async (word: string, args: string[]): Promise<void> => {
    const globals = program.opts<GlobalOptions>();
    const builtIn = program.commands.find((c) => c.name() === word);
    if (builtIn) {
      dispatched = builtIn;
      await builtIn.parseAsync(args, { from: 'user' });
    } else if (/^introspect./.test(word)) {
      const { withIntrospectCommand } = await import('./commands/introspect.js');
      await withIntrospectCommand(
        word,
        globals,
        async ({ definition, parameterOptions }) => {
          dispatched = commandFrom(definition, parameterOptions);
          program.addCommand(dispatched);
          await dispatched.parseAsync(args, { from: 'user' });
        },
        asksForHelp(args),
      );
    } else {
      throw await unknownCommand(word, globals);
    }
  };

  program.action(async () => {
    const [word, ...rest] = program.args;
    const globals = program.opts<GlobalOptions>();
    if (word === undefined || word === '--help' || word === '-h' || (word === 'help' && rest.length === 0)) {
      const { helpText } = await import('./help-cache.js');
      const text = await helpText(globals.instance, builtInHelp(program));
      // `abctl` alone is a usage error, as commander has it; asking for help is not.
      if (word === undefined) process.exitCode = 1;
      (word === undefined ? process.stderr : process.stdout).write(text);
    } else if (word === '--version') {
      process.stdout.write(`${ABCTL_VERSION}\n`);
    } else if (word === 'help') {
      await dispatch(rest[0]!, ['--help']);
    } else if (word.startsWith('-')) {
      const [{ UserError }, { abctlMessages }] = await Promise.all([import('../core/errors.js'), import('../services/messages/abctl-messages.js')]);
      const m = abctlMessages();
      throw new UserError('UNKNOWN_OPTION', m.format('cli.unknownOption', word), { hint: m.format('cli.unknownOption.hint') });
    } else {
      await dispatch(word, rest);
    }
  });
  return { program, dispatched: () => dispatched };
}

async function unknownCommand(word: string, globals: GlobalOptions): Promise<Error> {
  const [{ cachedIntrospectCommandNames }, { closeNames }, { UserError }, { abctlMessages }] = await Promise.all([
    import('./help-cache.js'),
    import('./suggest.js'),
    import('../core/errors.js'),
    import('../services/messages/abctl-messages.js'),
  ]);
  const introspect = await cachedIntrospectCommandNames(globals.instance).catch(() => []);
  const close = closeNames(word, [...COMMANDS.map((c) => c.name), ...introspect.map((c) => c.name)]);
  const m = abctlMessages();
  return new UserError('UNKNOWN_COMMAND', m.format('cli.unknownCommand', word), {
    hint: close.length ? m.format('cli.unknownCommand.suggest', close.join(m.format('cli.unknownCommand.or'))) : m.format('cli.unknownCommand.hint'),
  });
}
