import type { ReferenceHostOptions } from '../services/host/connect.js';
import type { JobProgress } from '../services/jobs/job.js';
import type { HostOptions } from './command-spec.js';
import type { ProgressView } from './progress.js';

/** SSH settings from the host option group (`--identity-file`, `--known-hosts`, `--insecure-skip-host-key-check`). */
export function sshSettings(opts: HostOptions): ReferenceHostOptions {
  return {
    ...(opts.identityFile !== undefined ? { identityFile: opts.identityFile } : {}),
    ...(opts.knownHosts !== undefined ? { knownHostsFile: opts.knownHosts } : {}),
    ...(opts.insecureSkipHostKeyCheck === true ? { insecureSkipHostKeyCheck: true } : {}),
  };
}

/** Routes service progress to the status line; warnings clear it first so they stay readable. */
export function progressTo(view: ProgressView): JobProgress {
  return {
    plugin: (name, pct, msg) => view.plugin(name, pct, msg),
    capture: (label, p) => view.capture(label, p.files, p.bytes),
    warn: (m) => {
      view.done();
      process.stderr.write(`warning: ${m}\n`);
    },
  };
}
