/**
 * The container contract as the manifests see it: where the agent, its bundle and the run-time
 * configuration are inside an appliance image. The image side (services/rehydration/foreground.ts
 * CONTAINER, services/image HEALTHCHECK) must agree on every path here; a test compares them.
 * Image names and tags are services/image/names.ts's.
 */

export const AGENT_DIR = '/opt/abctl';
export const AGENT_NODE = `${AGENT_DIR}/node`;
export const AGENT_SCRIPT = `${AGENT_DIR}/abctl-agent.mjs`;
export const IMAGE_BUNDLE = `${AGENT_DIR}/bundle`;
/** The agent's health check: exit 0 = healthy. */
export const PING_COMMAND: readonly string[] = [AGENT_NODE, AGENT_SCRIPT, 'ping', '--bundle', IMAGE_BUNDLE];

/** A ConfigMap mounted here holds `properties.json` (no passwords) and `bindings.json`. */
export const CONFIG_DIR = '/etc/abctl/config';
/** A Secret mounted here holds `properties.json` with the password values. */
export const SECRET_DIR = '/etc/abctl/secret';
export const CONFIG_DIR_ENV = 'ABCTL_CONFIG_DIR';
export const SECRET_DIR_ENV = 'ABCTL_SECRET_DIR';
export const PROPERTIES_FILE = 'properties.json';
export const BINDINGS_FILE = 'bindings.json';
