/**
 * `abctl introspect<name>`: declared when it runs, because part of its options are the job
 * parameters the plugin and its extensions declare, known only once their code is loaded.
 * Everything else about it (parsing, help, errors) is the same as for the built-in commands.
 */
import { Option } from 'commander';
import { AbError, PluginError, UserError } from '../../core/errors.js';
import { environmentVariableFor, resolveParameterValues, type DeclaredParameter, type RawValue } from '../../core/job-parameters.js';
import type { IntrospectJob, IntrospectionSummary, PreparedIntrospection } from '../../services/jobs/introspect-job.js';
import { disabledText } from '../../core/plugin-tree.js';
import {
  codecOption,
  defineCommand,
  hostOptions,
  jsonOption,
  type CodecOption,
  type CommandDefinition,
  type GlobalOptions,
  type HostOptions,
  type JsonOption,
} from '../command-spec.js';
import { mib } from '../format.js';
import { progressTo, sshSettings } from '../host-options.js';
import { createProgressView } from '../progress.js';
import { withInterrupt } from '../interrupt.js';
import { printJson, withApplication } from '../session.js';

export interface IntrospectCommandOptions extends JsonOption, HostOptions, CodecOption {
  readonly name?: string;
  readonly deferCapture?: boolean;
}

/** The command, and the options for the job parameters (typed by the plugin, not by abctl). */
export interface IntrospectCommand {
  readonly definition: CommandDefinition;
  readonly parameterOptions: readonly Option[];
}

/** Loads the plugin chain behind `introspect<target>` and hands its command to `use` while the plugins are running. */
export async function withIntrospectCommand<T>(
  commandName: string,
  globals: GlobalOptions,
  use: (command: IntrospectCommand) => Promise<T>,
  forHelp = false,
): Promise<T> {
  return withApplication(globals, { activate: true }, async (app) => {
    const { IntrospectJob } = await import('../../services/jobs/introspect-job.js');
    const service = app.get(IntrospectJob);
    const target = commandName.slice('introspect'.length);
    // --help answers even when the chain cannot run now (a broken or disabled plugin): the same refusal goes into the help.
    let cannotRun: AbError | undefined;
    let prepared: PreparedIntrospection;
    try {
      prepared = await service.prepare(target);
    } catch (err) {
      if (!forHelp || !(err instanceof AbError) || NO_SUCH_COMMAND.has(err.code)) throw err;
      cannotRun = err;
      prepared = await service.prepareForHelp(target);
    }
    // Each parameter option records what was typed under the parameter's name (`<name>-file` for a password file).
    const given = new Map<string, string>();
    const extensions = prepared.chain.members.slice(1).map((m) => m.name);
    const definition = defineCommand<IntrospectCommandOptions>({
      name: commandName,
      summary:
        `introspect with ${prepared.chain.root}${extensions.length ? ` and its extensions (${extensions.join(', ')})` : ''}` +
        `${prepared.chain.disabled.length ? ` (left out, disabled: ${disabledText(prepared.chain.disabled)})` : ''}: ` +
        'describe the product on the reference host, capture its file sets and store the result in the catalog',
      ...(cannotRun ? { details: cannotRunText(cannotRun) } : {}),
      options: [
        ...hostOptions('reference host reached over SSH (default: this machine)'),
        { flags: '--name <name>', description: "name of the resulting appliance or atomic assembly (default: the plugin's choice)" },
        { flags: '--defer-capture', description: 'store the metadata now and capture the file sets later (abctl captureFileSets)' },
        codecOption,
        jsonOption,
      ],
      load: async () => ({
        run: (opts) => {
          if (cannotRun) throw cannotRun;
          return introspect(service, prepared, given, opts);
        },
      }),
    });
    return use({ definition, parameterOptions: prepared.parameters.flatMap((p) => optionsFor(p, given)) });
  });
}

/** Refusals that mean there is no such command at all: its help is that error too. */
const NO_SUCH_COMMAND: ReadonlySet<string> = new Set(['PLUGIN_UNKNOWN', 'NOT_AN_ALIAS']);

/** The help's line about a chain that cannot run now: the refusal the command would give, with its way on. */
export function cannotRunText(err: AbError): string {
  const plugin = err instanceof PluginError ? ` (error in plugin ${err.plugin})` : '';
  return `This command cannot run now${plugin}: ${err.message}${err.hint ? `\nHint: ${err.hint}` : ''}`;
}

function optionsFor(p: DeclaredParameter, given: Map<string, string>): Option[] {
  const by = `(from ${p.declaredBy})`;
  const required = p.required ? ' [required]' : '';
  const record = (key: string) => (value: string): string => {
    given.set(key, value);
    return value;
  };
  switch (p.type) {
    case 'password':
      return [
        new Option(`--${p.name}-file <file>`, `${p.description}: file holding it (or set ${environmentVariableFor(p.name)}, or answer the prompt) ${by}${required}`).argParser(
          record(`${p.name}-file`),
        ),
        // Declared only to answer with a clear refusal instead of "unknown option".
        new Option(`--${p.name} <password>`).hideHelp().argParser(record(p.name)),
      ];
    case 'boolean':
      return [
        new Option(`--${p.name} [true|false]`, `${p.description} ${by}${p.defaultValue !== undefined ? ` (default: ${String(p.defaultValue)})` : ''}`)
          .preset('true')
          .argParser(record(p.name)),
      ];
    default: {
      // The default is only shown here; resolveParameterValues applies it, typed.
      const shown = p.defaultValue !== undefined ? ` (default: ${String(p.defaultValue)})` : '';
      const value = p.type === 'integer' ? 'n' : p.type === 'path' ? 'path' : 'value';
      return [new Option(`--${p.name} <${value}>`, `${p.description} ${by}${required}${shown}`).argParser(record(p.name))];
    }
  }
}

/** The typed parameter values: from the command line, password files, the environment or a prompt. */
async function parameterValues(prepared: PreparedIntrospection, given: ReadonlyMap<string, string>, passwordFiles: ReadonlyMap<string, string>) {
  const { readPasswordParameter, promptHidden } = await import('../../services/secrets/password-input.js');
  const raw = new Map<string, RawValue>();
  // Passwords nobody can type in (no terminal): reported with every other missing parameter at once.
  const unavailable: UserError[] = [];
  for (const p of prepared.parameters) {
    const value = given.get(p.name);
    if (value !== undefined) raw.set(p.name, { value, origin: 'argv' });
    else if (p.type === 'password') {
      try {
        const v = await readPasswordParameter(p, {
          file: passwordFiles.get(p.name),
          env: process.env,
          interactive: !!process.stdin.isTTY && !!process.stderr.isTTY,
          prompt: promptHidden,
        });
        if (v) raw.set(p.name, v);
      } catch (err) {
        if (!(err instanceof UserError && err.code === 'PASSWORD_UNAVAILABLE')) throw err;
        unavailable.push(err);
      }
    }
  }
  try {
    return resolveParameterValues(prepared.parameters, raw);
  } catch (err) {
    if (unavailable.length === 0 || !(err instanceof UserError) || err.code !== 'JOB_PARAMETER_MISSING') throw err;
    // Only one password missing: its own error says why (no terminal). More: one list, and why.
    const missing = prepared.parameters.filter((p) => p.required && !raw.has(p.name) && p.defaultValue === undefined);
    if (unavailable.length === 1 && missing.length === 1) throw unavailable[0];
    throw new UserError(err.code, err.message, {
      hint: `there is no terminal to ask for the password${unavailable.length > 1 ? 's' : ''}: ${unavailable.map((u) => u.hint).join('; ')}`,
    });
  }
}

async function introspect(
  service: IntrospectJob,
  prepared: PreparedIntrospection,
  given: ReadonlyMap<string, string>,
  opts: IntrospectCommandOptions,
): Promise<number> {
  // `--<name>-file` holds a password parameter's file (no parameter name ends in -file).
  const passwordFiles = new Map<string, string>();
  for (const p of prepared.parameters) {
    const file = given.get(`${p.name}-file`);
    if (file !== undefined) passwordFiles.set(p.name, file);
  }
  const values = await parameterValues(prepared, given, passwordFiles);
  const view = createProgressView();
  try {
    const summary = await withInterrupt((signal) =>
      service.introspect(prepared, values, {
        ...(opts.host !== undefined ? { host: opts.host } : {}),
        hostOptions: sshSettings(opts),
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        deferCapture: opts.deferCapture === true,
        codec: opts.codec,
        signal,
        progress: progressTo(view),
      }),
    );
    view.done();
    if (opts.json) printJson(summary);
    else process.stdout.write(renderSummary(summary));
    return 0;
  } finally {
    view.done();
  }
}

export function renderSummary(s: IntrospectionSummary): string {
  const lines = [
    `introspected ${s.kind === 'atomicAssembly' ? 'atomic assembly' : 'appliance'} "${s.name}" with ${s.participants.join(' -> ')} on ${s.host}`,
  ];
  if (s.disabledExtensions.length > 0) lines.push(`  not run, disabled: ${disabledText(s.disabledExtensions)} (abctl enablePlugin --name NAME to include)`);
  for (const a of s.appliances) {
    lines.push(
      `  appliance ${a.name} (type ${a.type}): ${a.properties} properties, ${a.inputs} inputs, ${a.outputs} outputs, ` +
        `${a.fileSets} file set definitions, ${a.contentResources} content resources`,
    );
  }
  if (s.captureDeferred) lines.push(`  file sets not captured yet: run abctl captureFileSets --appliance ${s.name}`);
  for (const c of s.captured) {
    lines.push(`  captured ${c.appliance}/${c.fileSet}: ${c.files} files, ${mib(c.bytes)} -> ${mib(c.archiveBytes)}, sha256 ${c.sha256.slice(0, 16)}…`);
  }
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  return `${lines.join('\n')}\n`;
}
