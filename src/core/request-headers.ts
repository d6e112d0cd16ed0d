/**
 * A fetch workload's request headers live apart from its chunk jobs. Headers often carry credentials
 * (`Authorization`, API keys); a chunk job's data is readable by anyone who can read the queue (bull-board,
 * a `redis-cli` on the queue keys, a log of a failed job), and the workload's chunk payloads are copies of
 * it. So the producer swaps each request's headers for the number of its header set, stored in the
 * workload's own `requestHeaders` hash, and the worker that runs a chunk reads the sets it needs just
 * before the requests go out. The hash is deleted when the workload ends (workload-store.ts).
 */
import type { FetchRequestRef, FetchRequestSpec } from './workload';

/** Requests without their headers, and the distinct header sets (JSON) they refer to by position. */
export function separateHeaders(requests: FetchRequestSpec[]): { refs: FetchRequestRef[]; headerSets: string[] } {
  const setNumbers = new Map<string, number>();
  const headerSets: string[] = [];
  const refs = requests.map(({ headers, ...rest }): FetchRequestRef => {
    if (!headers || Object.keys(headers).length === 0) return rest;
    const json = JSON.stringify(headers);
    let number = setNumbers.get(json);
    if (number === undefined) {
      number = headerSets.length;
      headerSets.push(json);
      setNumbers.set(json, number);
    }
    return { ...rest, headersRef: number };
  });
  return { refs, headerSets };
}

/** The header set numbers a chunk's requests use. */
export function headerRefs(requests: FetchRequestRef[]): number[] {
  return [...new Set(requests.flatMap((request) => (request.headersRef === undefined ? [] : [request.headersRef])))];
}

/** Header sets as read from the hash (number → JSON, null when gone), parsed once for a chunk's requests. */
export function parseHeaderSets(sets: ReadonlyMap<number, string | null>): Map<number, Readonly<Record<string, string>> | null> {
  return new Map([...sets].map(([number, json]) => [number, json === null ? null : (JSON.parse(json) as Record<string, string>)]));
}

/**
 * A request as it is sent: its headers put back from `sets` (parseHeaderSets; requests of one set share
 * its object, which nothing changes). Undefined when its set is gone (the workload ended or expired meanwhile).
 */
export function withHeaders(request: FetchRequestRef, sets: ReadonlyMap<number, Readonly<Record<string, string>> | null>): FetchRequestSpec | undefined {
  const { headersRef, ...rest } = request;
  if (headersRef === undefined) return rest;
  const headers = sets.get(headersRef);
  if (headers === null || headers === undefined) return undefined;
  return { ...rest, headers };
}
