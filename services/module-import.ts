/**
 * import() of a module that is not part of abctl's bundle: a plugin's entry module or chosen
 * implementation, typescript. bin/abctl runs the bundle from V8's code cache, and in Node 20 code
 * compiled from a cache cannot call import() itself (the loader's callback is not restored with
 * it: "A dynamic import callback was not specified"), so bin/abctl lends its own import() here.
 * Elsewhere (tests, tsc's output) the built-in one is used.
 */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

let lent: ModuleImporter | undefined;

export function lendImport(importer: ModuleImporter): void {
  lent = importer;
}

export function importModule<T>(specifier: string): Promise<T> {
  return (lent ? lent(specifier) : import(specifier)) as Promise<T>;
}
