/** abctl's version as `--version` prints it; a module of its own so bin/abctl's quick answers (cli/fast-path.ts) need no commander. */
export const ABCTL_VERSION = '0.1.0';
