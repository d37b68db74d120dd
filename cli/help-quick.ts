/**
 * `abctl --help` when no record holds the whole text (an instance with plugins of its own, or
 * after a plugin changed): commander's part as the build recorded it for this terminal width
 * (cli/shipped-records.ts) and the instance's introspect commands from their plugin.config files,
 * the same helpText() the CLI runs, which keeps the instance's record. Built on its own into
 * dist/cli-bundle/help.cjs (about 50 KB with discovery) that bin/abctl loads for a help request
 * instead of the CLI bundle, so neither commander nor the 2 MB bundle is loaded.
 */
import { helpText, helpWidth } from './help-cache.js';
import { builtInHelpFor } from './shipped-records.js';

/**
 * Prints `abctl --help` and says true, or says false without printing (the caller runs the CLI).
 * `instanceFlag`: the line's `--instance` value (fast-path.ts helpRequest).
 */
export async function answerHelp(instanceFlag?: string): Promise<boolean> {
  let text: string;
  try {
    const builtIn = builtInHelpFor(helpWidth());
    if (builtIn === undefined) return false;
    text = await helpText(instanceFlag, builtIn);
  } catch {
    return false; // the CLI answers the normal way
  }
  process.stdout.write(text);
  return true;
}
