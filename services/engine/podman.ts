/**
 * Running podman for the podman deployment target: every call has a time limit and an
 * AbortSignal (services/deploy/process-run.ts kills its process group), and runs with the
 * project's containers.conf (runc, ulimits this machine allows; see that file) unless
 * AB_CONTAINERS_CONF names another. Arguments never carry secrets: those reach podman only
 * inside a 0600 kube YAML file.
 */
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { runProcess } from '../deploy/process-run.js';
import { projectRoot } from '../instance.js';

export function containersConf(env: NodeJS.ProcessEnv = process.env): string {
  return env['AB_CONTAINERS_CONF'] || join(projectRoot(), 'services', 'engine', 'containers.conf');
}

export interface PodmanResult {
  readonly code: number;
  readonly out: string;
}

export interface PodmanCall {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Output also goes here as it comes (an instance log). */
  readonly onOutput?: (chunk: Buffer) => void;
  readonly where?: string;
}

/** Runs `podman ARGS`; resolves to the exit code and the output (stdout and stderr). Throws on timeout or abort. */
export function podman(args: readonly string[], call: PodmanCall): Promise<PodmanResult> {
  return runTool('podman', args, call, { CONTAINERS_CONF: containersConf() }, 'apt-get install podman runc iptables catatonit');
}

/**
 * Runs an engine's tool (podman, kubectl, skopeo) with a time limit; resolves to the exit code
 * and the output. A tool that is not installed is an ENGINE_TOOL_MISSING naming how to get it.
 */
export async function runTool(command: string, args: readonly string[], call: PodmanCall, env: NodeJS.ProcessEnv, install: string): Promise<PodmanResult> {
  let out = '';
  const code = await runProcess({
    command,
    args,
    timeoutMs: call.timeoutMs,
    signal: call.signal,
    env: { ...process.env, ...env },
    onOutput: (c) => {
      out += c.toString('utf8');
      call.onOutput?.(c);
    },
    what: `${command} ${args[0] ?? ''}${args[1] && !args[1].startsWith('-') ? ` ${args[1]}` : ''}`,
    where: call.where ?? command,
  }).catch((err: unknown) => {
    if (err instanceof UserError && err.code === 'DEPLOY_COMMAND_FAILED') {
      throw new UserError('ENGINE_TOOL_MISSING', `${command} cannot be run on this machine`, { where: command, hint: `install it: ${install}`, cause: err });
    }
    throw err;
  });
  return { code, out };
}

/** Like podman(), but a non-zero exit is an error naming the command and podman's message. */
export async function podmanOk(args: readonly string[], call: PodmanCall): Promise<string> {
  return checked('podman', args, await podman(args, call), call, '`podman info` shows whether podman works here');
}

/** The output of a tool run that exited 0; otherwise an error naming the command and the tool's message. */
export function checked(command: string, args: readonly string[], r: PodmanResult, call: PodmanCall, hint: string): string {
  if (r.code !== 0) {
    throw new UserError('ENGINE_COMMAND_FAILED', `${command} ${args.slice(0, 2).join(' ')} failed (exit ${r.code}): ${lastLines(r.out, 3)}`, {
      where: call.where ?? command,
      hint: `see the instance log for the whole output; ${hint}`,
    });
  }
  return r.out.trim();
}

/** The last `n` non-empty lines of a text, joined with " | ". */
export function lastLines(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-n)
    .join(' | ');
}
