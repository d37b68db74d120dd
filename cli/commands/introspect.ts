import { Command, Option } from 'commander';
import { UserError } from '../../core/errors.js';
import { environmentVariableFor, resolveParameterValues, type DeclaredParameter, type RawValue } from '../../core/job-parameters.js';
import type { GlobalOptions } from '../command-table.js';
import { createProgressView } from '../progress.js';
import { reportError } from '../report-error.js';
import { printJson, withApplication } from '../session.js';

function globalsFrom(args: readonly string[]): GlobalOptions {
  const p = new Command().option('--instance <dir>').option('--debug').allowExcessArguments(true);
  p.parse([...args], { from: 'user' });
  return p.opts<GlobalOptions>();
}

function optionFor(p: DeclaredParameter): Option[] {
  const by = `(from ${p.declaredBy})`;
  const required = p.required ? ' [required]' : '';
  switch (p.type) {
    case 'password':
      return [
        new Option(`--${p.name}-file <file>`, `${p.description}: file holding it (or set ${environmentVariableFor(p.name)}, or answer the prompt) ${by}${required}`),
        // Declared only to answer with a clear refusal instead of "unknown option".
        new Option(`--${p.name} <password>`).hideHelp(),
      ];
    case 'boolean':
      return [new Option(`--${p.name} [true|false]`, `${p.description} ${by}${p.defaultValue !== undefined ? ` (default: ${String(p.defaultValue)})` : ''}`).preset('true')];
    default: {
      // The default is only shown here; resolveParameterValues applies it, typed.
      const shown = p.defaultValue !== undefined ? ` (default: ${String(p.defaultValue)})` : '';
      return [new Option(`--${p.name} <${p.type === 'integer' ? 'n' : p.type === 'path' ? 'path' : 'value'}>`, `${p.description} ${by}${required}${shown}`)];
    }
  }
}

/** commander keys options by camelCase. */
const key = (name: string): string => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * `abctl introspect<name>`: built when it runs, because its options are the job parameters
 * the plugin and its extensions declare, known only once their code is loaded.
 */
export async function runIntrospectCommand(globalArgs: readonly string[], commandName: string, args: readonly string[]): Promise<number> {
  const globals = globalsFrom(globalArgs);
  const target = commandName.slice('introspect'.length);
  return withApplication(globals, { activate: true }, async (app) => {
    const { IntrospectionService } = await import('../../services/introspection/introspection-service.js');
    const { readPasswordParameter, promptHidden } = await import('../../services/secrets/password-input.js');
    const service = app.get(IntrospectionService);
    const prepared = await service.prepare(target);

    const cmd = new Command(`abctl ${commandName}`)
      .description(
        `Introspect with ${prepared.rootPlugin}${prepared.participants.length > 1 ? ` and its extensions (${prepared.participants.slice(1).map((p) => p.name).join(', ')})` : ''}: ` +
          'describe the product on the reference host, capture its file sets and store the result in the catalog.',
      )
      .option('--host <user@host[:port]>', 'reference host reached over SSH (default: this machine)')
      .option('--identity-file <file>', 'SSH private key (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa, or the agent)')
      .option('--known-hosts <file>', 'known_hosts file to check the host key against (default: ~/.ssh/known_hosts)')
      .option('--insecure-skip-host-key-check', 'do not check the SSH host key (prints a warning)')
      .option('--name <name>', 'name of the resulting appliance or atomic assembly (default: the plugin\'s choice)')
      .option('--defer-capture', 'store the metadata now and capture the file sets later (abctl captureFileSets)')
      .addOption(new Option('--codec <codec>', 'archive compression').choices(['gzip', 'zstd', 'none']).default('gzip'))
      .option('--json', 'print the summary as JSON')
      .exitOverride()
      .configureOutput({ writeErr: (s) => process.stderr.write(s) });
    for (const p of prepared.parameters) for (const o of optionFor(p)) cmd.addOption(o);
    try {
      cmd.parse([...args], { from: 'user' });
    } catch (err) {
      const code = (err as { exitCode?: number }).exitCode;
      return code === undefined ? reportError(err, !!globals.debug) : code === 0 ? 0 : 1;
    }
    const opts = cmd.opts<Record<string, string | boolean | undefined>>();

    const raw = new Map<string, RawValue>();
    // Passwords nobody can type in (no terminal): reported with every other missing parameter at once.
    const unavailable: UserError[] = [];
    for (const p of prepared.parameters) {
      const given = opts[key(p.name)];
      if (p.type === 'password') {
        if (given !== undefined) raw.set(p.name, { value: String(given), origin: 'argv' });
        else {
          const file = opts[key(`${p.name}-file`)];
          try {
            const v = await readPasswordParameter(p, {
              file: typeof file === 'string' ? file : undefined,
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
      } else if (given !== undefined) {
        raw.set(p.name, { value: String(given), origin: 'argv' });
      }
    }
    let values: ReturnType<typeof resolveParameterValues>;
    try {
      values = resolveParameterValues(prepared.parameters, raw);
    } catch (err) {
      if (unavailable.length === 0 || !(err instanceof UserError) || err.code !== 'JOB_PARAMETER_MISSING') throw err;
      // Only one password missing: its own error says why (no terminal). More: one list, and why.
      const missing = prepared.parameters.filter((p) => p.required && !raw.has(p.name) && p.defaultValue === undefined);
      if (unavailable.length === 1 && missing.length === 1) throw unavailable[0];
      throw new UserError(err.code, err.message, {
        hint: `there is no terminal to ask for the password${unavailable.length > 1 ? 's' : ''}: ${unavailable.map((u) => u.hint).join('; ')}`,
      });
    }

    const view = createProgressView();
    const controller = new AbortController();
    const onSignal = (): void => controller.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    try {
      const summary = await service.introspect(prepared, values, {
        ...(typeof opts.host === 'string' ? { host: opts.host } : {}),
        hostOptions: {
          ...(typeof opts.identityFile === 'string' ? { identityFile: opts.identityFile } : {}),
          ...(typeof opts.knownHosts === 'string' ? { knownHostsFile: opts.knownHosts } : {}),
          ...(opts.insecureSkipHostKeyCheck ? { insecureSkipHostKeyCheck: true } : {}),
        },
        ...(typeof opts.name === 'string' ? { name: opts.name } : {}),
        deferCapture: opts.deferCapture === true,
        codec: opts.codec as 'gzip' | 'zstd' | 'none',
        signal: controller.signal,
        progress: {
          plugin: (name, pct, msg) => view.plugin(name, pct, msg),
          capture: (label, p) => view.capture(label, p.files, p.bytes),
          warn: (m) => {
            view.done();
            process.stderr.write(`warning: ${m}\n`);
          },
        },
      });
      view.done();
      if (opts.json) printJson(summary);
      else process.stdout.write(renderSummary(summary));
      return 0;
    } finally {
      view.done();
      process.removeListener('SIGINT', onSignal);
    }
  });
}

type Summary = Awaited<ReturnType<import('../../services/introspection/introspection-service.js').IntrospectionService['introspect']>>;

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

function renderSummary(s: Summary): string {
  const lines = [
    `introspected ${s.kind === 'atomicAssembly' ? 'atomic assembly' : 'appliance'} "${s.name}" with ${s.participants.join(' -> ')} on ${s.host}`,
  ];
  for (const a of s.appliances) {
    lines.push(
      `  appliance ${a.name} (type ${a.type}): ${a.properties} properties, ${a.inputs} inputs, ${a.outputs} outputs, ` +
        `${a.fileSets} file set definitions, ${a.contentResources} content resources`,
    );
  }
  if (s.captureDeferred) lines.push('  file sets not captured yet: run abctl captureFileSets --appliance NAME');
  for (const c of s.captured) {
    lines.push(`  captured ${c.appliance}/${c.fileSet}: ${c.files} files, ${mib(c.bytes)} -> ${mib(c.archiveBytes)}, sha256 ${c.sha256.slice(0, 16)}…`);
  }
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  return `${lines.join('\n')}\n`;
}
