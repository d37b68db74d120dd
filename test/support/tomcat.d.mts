// Types of tomcat.mjs.
export declare const TOMCAT_HOME: string;
export declare const JDBC_DRIVER: string;
export declare const SAMPLE_WEBAPP: string;
export declare const SAMPLE_TABLE_SQL: string;

export interface JdbcTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
}

export interface TomcatBaseOptions {
  /** Existing directory; the base is `dir/base` (dir is made 0755 so that tomcat reaches it). */
  readonly dir: string;
  readonly httpPort: number;
  /** Connector address; default 127.0.0.1 (0.0.0.0 for all). */
  readonly address?: string;
  /** Server shutdown port; default -1 (disabled, as Debian ships it). */
  readonly shutdownPort?: number;
  /** A second HTTP connector (Http11NioProtocol) on this port. */
  readonly extraHttpPort?: number;
  /** Writes the HTTP connector's port as `${portProperty}` in server.xml and sets it in conf/catalina.properties. */
  readonly portProperty?: string;
  /** Adds the JDBC resource jdbc/appdb (org.postgresql.Driver) to conf/context.xml. */
  readonly jdbc?: JdbcTarget;
  /** Adds a manager-script user "deployer" with this password to tomcat-users.xml. */
  readonly managerPassword?: string;
  /** Context of the sample application; default "app"; false for none. */
  readonly webapp?: string | false;
}

export interface TomcatBase {
  readonly base: string;
  readonly home: string;
  /** URL on the HTTP connector, e.g. url('/app/row'). */
  url(path?: string): string;
}

export interface StartTomcatOptions {
  readonly base: string;
  readonly home?: string;
  /** What must answer before startTomcat resolves. */
  readonly url: string;
  readonly timeoutMs?: number;
}

export interface RunningTomcat {
  readonly pid: number;
  stop(): Promise<void>;
  log(): Promise<string>;
}

export declare function buildSampleWebapp(dest: string): Promise<void>;
export declare function prepareTomcatBase(o: TomcatBaseOptions): Promise<TomcatBase>;
export declare function answers(url: string): Promise<boolean>;
export declare function startTomcat(o: StartTomcatOptions): Promise<RunningTomcat>;
/** Path, mode, owner and content hash (or link target) of everything under `roots`, minus `skip`. */
export declare function referenceListing(roots: readonly string[], skip?: readonly string[]): Promise<string[]>;
