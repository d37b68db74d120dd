// Types of nginx.mjs.
export { freePort } from './sshd.mjs';

export declare const NGINX: string;

export interface NginxPrefix {
  readonly dir: string;
  /** `dir/nginx.conf`. */
  readonly conf: string;
}

/**
 * Writes a private nginx layout into `dir`: nginx.conf (pid, logs, temp paths under the prefix),
 * conf.d/site.conf with an upstream and a proxy server per `upstreams` entry (on `ports[i]`), and
 * a static server (root html/) on one more port when given.
 */
export declare function writeNginxPrefix(
  dir: string,
  options: { ports: readonly number[]; upstreams: Readonly<Record<string, readonly string[]>>; user?: string; address?: string },
): Promise<NginxPrefix>;

export interface NginxHandle {
  readonly pid: number;
  readonly dir: string;
  readonly conf: string;
  stderr(): string;
  /** SIGQUIT, then waits (SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/** `nginx -p dir -c dir/nginx.conf -g 'daemon off;'`; resolves once `ports` listen (10 s at most). */
export declare function startNginx(options: { dir: string; ports: readonly number[]; address?: string }): Promise<NginxHandle>;

/** Stops the nginx named by a pid file (one a plugin started), if it runs. */
export declare function stopNginxByPidFile(pidFile: string): Promise<void>;

export interface Backend {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  hits(): number;
  close(): Promise<void>;
}

/** A tiny HTTP server answering `backend <name>\n` to every request. */
export declare function startBackend(options: { name: string; port?: number; host?: string }): Promise<Backend>;

/** GET over HTTP; rejects when nothing answers within 5 s. */
export declare function httpGet(port: number, options?: { host?: string; path?: string }): Promise<{ status: number | undefined; body: string }>;

/** Sorted `sha256  path` / `link path -> target` lines of a tree, minus what `skip` drops. */
export declare function checksumListing(dir: string, skip?: (rel: string) => boolean): Promise<string>;

export declare function tempPrefix(name?: string): Promise<{ dir: string; remove(): Promise<void> }>;
