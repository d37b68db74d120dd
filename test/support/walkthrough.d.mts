export interface WalkthroughBlock {
  readonly kind: 'step' | 'cleanup';
  /** The heading the block stands under. */
  readonly heading: string;
  /** 1-based line of its opening fence. */
  readonly line: number;
  readonly code: string;
}
export function walkthroughBlocks(text: string): WalkthroughBlock[];
export function walkthroughScript(file: string, opts?: { kind?: 'step' | 'cleanup'; upTo?: number; from?: number }): { script: string; blocks: WalkthroughBlock[] };
