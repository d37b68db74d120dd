import type { LifecycleOperation } from '../../core/lifecycle-contract.js';
import type { BundleOptions } from '../agent-commands.js';
import type { CommandRun } from '../command-spec.js';
import { printJson } from '../session.js';

export function runFor(operation: LifecycleOperation): CommandRun<BundleOptions> {
  return async (opts, globals) => {
    const { runAgent } = await import('../../services/rehydration/agent.js');
    const { describe, EXIT, readKeyLine } = await import('../../services/rehydration/agent-main.js');
    let passwordKey;
    if (opts.keyStdin) {
      try {
        passwordKey = await readKeyLine(process.stdin);
      } finally {
        // Only the key line is read: an open stdin would keep the command from ending.
        process.stdin.destroy();
      }
    }
    const result = await runAgent({ bundleDir: opts.bundle, operation, ...(globals.debug !== undefined ? { debug: globals.debug } : {}), ...(passwordKey ? { passwordKey } : {}) });
    if (opts.json) printJson(result);
    else process.stdout.write(`${describe(result)}\n`);
    if (!result.supported) return EXIT.notSupported;
    return result.health && !result.health.healthy ? EXIT.failed : EXIT.ok;
  };
}
