/**
 * An AbortSignal that aborts when any of its sources does (with that source's reason) or when its owner
 * aborts it, and lets go of the sources when `unlink` is called. What AbortSignal.any() does, without its
 * cost: any() keeps weak references and a finalizer per call, which showed in profiles at thousands of
 * short chunks a second; here the links are plain listeners, removed as soon as the chunk (or batch) ends.
 */
export interface LinkedAbort {
  signal: AbortSignal;
  /** Aborts the signal (the first reason wins, as with AbortController). */
  abort(reason: unknown): void;
  /** Removes the listeners from the sources; the signal stays as it is. Idempotent. */
  unlink(): void;
}

export function linkedAbort(sources: AbortSignal[]): LinkedAbort {
  const controller = new AbortController();
  const abort = (reason: unknown): void => controller.abort(reason);
  const already = sources.find((source) => source.aborted);
  if (already) {
    abort(already.reason);
    return { signal: controller.signal, abort, unlink: () => undefined };
  }
  const listeners = sources.map((source) => {
    const onAbort = (): void => abort(source.reason);
    source.addEventListener('abort', onAbort, { once: true });
    return () => source.removeEventListener('abort', onAbort);
  });
  return {
    signal: controller.signal,
    abort,
    unlink: () => {
      for (const remove of listeners.splice(0)) remove();
    },
  };
}
