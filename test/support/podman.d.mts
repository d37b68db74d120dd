// Types of podman.mjs.
export declare const CONTAINERS_CONF: string;
export declare function podmanEnv(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export interface PodmanResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}
export declare function podman(args: readonly string[], opts?: { timeoutMs?: number; input?: string }): PodmanResult;
export declare function podmanOk(args: readonly string[], opts?: { timeoutMs?: number; input?: string }): string;
export declare function podmanAvailable(): { ok: boolean; reason: string };
export declare function loadLayout(layoutDir: string, tag: string, reference: string, opts?: { timeoutMs?: number }): string;
export declare function cleanup(what?: { containers?: readonly string[]; images?: readonly string[]; volumes?: readonly string[] }): void;
export declare function waitFor<T>(check: () => T | Promise<T>, opts?: { timeoutMs?: number; intervalMs?: number; what?: string }): Promise<T>;
export declare function testRootfs(opts?: { dir?: string }): string;
export declare function readIfExists(file: string): string;
