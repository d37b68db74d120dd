/**
 * Runs a job with an AbortSignal that the first Ctrl-C fires. The job stops waiting for plugin
 * code at once and ends with JOB_INTERRUPTED, which reportError turns into exit 130.
 */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>, notice?: string): Promise<T> {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (notice !== undefined) process.stderr.write(notice);
    controller.abort(new Error('interrupted'));
  };
  process.once('SIGINT', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
}
