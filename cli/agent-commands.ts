/**
 * The instance-side commands: `abctl rehydrate|start|stop|ping --bundle DIR` run one lifecycle
 * operation from an appliance bundle, with no catalog (the same code as the one-file agent,
 * abctl-agent.mjs, that deployments ship).
 */
import { defineCommand, jsonOption, type CommandDefinition, type JsonOption } from './command-spec.js';

export interface BundleOptions extends JsonOption {
  readonly bundle: string;
  readonly keyStdin?: boolean;
}

const SUMMARIES = {
  rehydrate: "re-create the product from an appliance bundle: verify and extract its file sets, then run the plugin chain's rehydrate",
  start: "start the product of an appliance bundle (the plugin chain's start)",
  stop: "stop the product of an appliance bundle (the plugin chain's stop)",
  ping: 'ask the plugin chain whether the product of an appliance bundle is healthy',
} as const;

export const AGENT_COMMANDS: readonly CommandDefinition[] = (['rehydrate', 'start', 'stop', 'ping'] as const).map((op) =>
  defineCommand<BundleOptions>({
    name: op,
    summary: SUMMARIES[op],
    details:
      'Runs the creator plugin first, then its extensions; the first failure stops the chain and names the plugin. ' +
      'Exit codes: 0 done (ping: healthy), 1 failed (ping: unhealthy), 3 not supported by the plugin chain. See docs/rehydration.md.',
    options: [
      { flags: '--bundle <dir>', description: 'appliance bundle directory (holds bundle.json)', required: true },
      { flags: '--key-stdin', description: "read the bundle's key (base64) from the first line of stdin: needed when a plugin asks for a password, which a deployed bundle keeps encrypted" },
      jsonOption,
    ],
    load: () => import('./commands/agent.js').then((m) => ({ run: m.runFor(op) })),
  }),
);
