/**
 * Minimal typing for picomatch 2.x (installed as fast-glob's matcher, without its own
 * types). Only what excludes.ts uses.
 */
declare module 'picomatch' {
  interface PicomatchOptions {
    dot?: boolean;
    nonegate?: boolean;
    nocase?: boolean;
    strictBrackets?: boolean;
  }
  type Matcher = (input: string) => boolean;
  function picomatch(glob: string | readonly string[], options?: PicomatchOptions): Matcher;
  namespace picomatch {
    function scan(input: string, options?: PicomatchOptions): { isGlob: boolean; base: string; glob: string };
  }
  export = picomatch;
}
