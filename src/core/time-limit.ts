/**
 * Waits for a promise for at most `ms`: its value when it settles in time, else `fallback`. The promise
 * itself is not stopped (nothing here can stop it); a rejection in time is passed on.
 */
export async function timeLimit<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
