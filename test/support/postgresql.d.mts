// Types of postgresql.mjs.
export declare const PG_VERSION: string;
export declare const PG_BIN: string;

export interface TestCluster {
  /** Temp dir owned by postgres: the data directory, the unix socket and server.log live here. */
  readonly dir: string;
  readonly dataDir: string;
  /** Where postgresql.conf is: the data directory, or `<dir>/etc/main` for the Debian layout. */
  readonly configDir: string;
  readonly port: number;
  readonly bin: string;
  start(): Promise<void>;
  /** pg_ctl stop -m fast; nothing when not running. */
  stop(): Promise<void>;
  /** SQL over the unix socket as postgres; psql's unaligned tuples-only output, trimmed. */
  sql(text: string): Promise<string>;
  /** Stops it and removes the temp dir. */
  remove(): Promise<void>;
}

export declare function postgresAccount(): Promise<{ uid: number; gid: number }>;
export declare function asPostgres(argv: readonly string[], options?: { input?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<string>;
export declare function startCluster(options?: { password?: string; start?: boolean; layout?: 'initdb' | 'debian'; extraConf?: string }): Promise<TestCluster>;
export declare function tcpQuery(options: { host?: string; port: number; user?: string; password: string; database?: string; sql: string }): Promise<string>;
export declare function checksumListing(dir: string): Promise<string[]>;
