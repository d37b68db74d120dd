/** The `local` target: instances run on the machine running abctl, with abctl's own Node.js. */
import { cp, mkdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, isAbsolute } from 'node:path';
import { ContainerModule, injectable } from 'inversify';
import { UserError } from '../../core/errors.js';
import { runProcess } from './process-run.js';
import { DeploymentTarget, MIN_NODE_MAJOR, nodeMajor, type AgentRun, type TargetConnection } from './target.js';

function absolute(path: string, what: string): string {
  if (!isAbsolute(path)) throw new Error(`internal error: ${what} ${path} is not absolute`);
  return path;
}

class LocalConnection implements TargetConnection {
  readonly spec = 'local';

  async identity(): Promise<{ hostname: string; address: string }> {
    return { hostname: hostname(), address: '127.0.0.1' };
  }

  async check(): Promise<{ node: string }> {
    const major = nodeMajor(process.version);
    if (major === undefined || major < MIN_NODE_MAJOR) {
      throw new UserError('DEPLOY_TARGET_NODE_TOO_OLD', `this machine runs Node.js ${process.version}; the agent needs ${MIN_NODE_MAJOR} or later`, {
        where: 'local',
        hint: `install Node.js ${MIN_NODE_MAJOR} or later (e.g. from nodejs.org or NodeSource)`,
      });
    }
    return { node: process.version };
  }

  async ship(from: string, to: string): Promise<void> {
    absolute(to, 'target directory');
    await rm(to, { recursive: true, force: true });
    await mkdir(dirname(to), { recursive: true });
    // fs.cp keeps modes; timestamps too, so a bundle looks the same as over SSH (tar keeps them).
    await cp(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  }

  runNode(run: AgentRun): Promise<number> {
    // stdin held open: the agent (--exit-with-stdin) ends with this process, even on kill -9.
    return runProcess({ command: process.execPath, args: run.args, timeoutMs: run.timeoutMs, signal: run.signal, onOutput: run.onOutput, holdStdin: true, input: run.input, what: `node ${run.args[1] ?? ''}`, where: 'local' });
  }

  async remove(dir: string): Promise<void> {
    await rm(absolute(dir, 'directory to remove'), { recursive: true, force: true });
  }

  async close(): Promise<void> {}
}

@injectable()
export class LocalDeploymentTarget implements DeploymentTarget {
  readonly kind = 'local';
  accepts(spec: string): boolean {
    return spec === 'local';
  }
  async open(): Promise<TargetConnection> {
    return new LocalConnection();
  }
}

/** Contributes the `local` target. */
export const localTargetModule = new ContainerModule(({ bind }) => {
  bind<DeploymentTarget>(DeploymentTarget).to(LocalDeploymentTarget).inSingletonScope();
});
