import type { ReferenceHostOptions } from '../services/host/connect.js';
import type { IntrospectionProgress } from '../services/introspection/introspection-service.js';
import type { ProgressView } from './progress.js';

/** SSH settings from the common options `--identity-file`, `--known-hosts`, `--insecure-skip-host-key-check`. */
export function hostOptionsFrom(opts: Record<string, unknown>): ReferenceHostOptions {
  return {
    ...(typeof opts.identityFile === 'string' ? { identityFile: opts.identityFile } : {}),
    ...(typeof opts.knownHosts === 'string' ? { knownHostsFile: opts.knownHosts } : {}),
    ...(opts.insecureSkipHostKeyCheck === true ? { insecureSkipHostKeyCheck: true } : {}),
  };
}

/** Routes service progress to the status line; warnings clear it first so they stay readable. */
export function progressTo(view: ProgressView): IntrospectionProgress {
  return {
    plugin: (name, pct, msg) => view.plugin(name, pct, msg),
    capture: (label, p) => view.capture(label, p.files, p.bytes),
    warn: (m) => {
      view.done();
      process.stderr.write(`warning: ${m}\n`);
    },
  };
}

export function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}
