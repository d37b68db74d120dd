/** Byte counts as people read them in summaries and on the status line. */
export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}
