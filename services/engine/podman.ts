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
export async function podman(args: readonly string[], call: PodmanCall): Promise<PodmanResult> {
  let out = '';
  const code = await runProcess({
    command: 'podman',
    args,
    timeoutMs: call.timeoutMs,
    signal: call.signal,
    env: { ...process.env, CONTAINERS_CONF: containersConf() },
    onOutput: (c) => {
      out += c.toString('utf8');
      call.onOutput?.(c);
    },
    what: `podman ${args[0] ?? ''}${args[1] && !args[1].startsWith('-') ? ` ${args[1]}` : ''}`,
    where: call.where ?? 'podman',
  }).catch((err: unknown) => {
    if (err instanceof UserError && err.code === 'DEPLOY_COMMAND_FAILED') {
      throw new UserError('ENGINE_PODMAN_MISSING', 'podman cannot be run on this machine', { where: 'podman', hint: 'install it: apt-get install podman runc iptables catatonit', cause: err });
    }
    throw err;
  });
  return { code, out };
}

/** Like podman(), but a non-zero exit is an error naming the command and podman's message. */
export async function podmanOk(args: readonly string[], call: PodmanCall): Promise<string> {
  const r = await podman(args, call);
  if (r.code !== 0) {
    throw new UserError('ENGINE_COMMAND_FAILED', `podman ${args.slice(0, 2).join(' ')} failed (exit ${r.code}): ${lastLines(r.out, 3)}`, {
      where: call.where ?? 'podman',
      hint: 'see the instance log for the whole output; `podman info` shows whether podman works here',
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
