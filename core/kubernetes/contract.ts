/**
 * The container contract as the manifests see it: where the agent, its bundle and the run-time
 * configuration are inside an appliance image. The image writer (createTemplate) and the
 * Kubernetes export must agree on every path here; docs/images.md describes the image side.
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

/** Repository of an appliance's image as createTemplate names it: `abctl/<appliance>`. */
export const DEFAULT_IMAGE_PREFIX = 'abctl';
/** In an OCI image layout's index.json, the annotation holding an image's tag. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** An OCI repository path component from an appliance name (lower case, `-` for the rest). */
export function imageRepositoryName(appliance: string): string {
  return appliance
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|[._-]+$/g, '');
}
