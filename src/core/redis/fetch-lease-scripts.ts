/**
 * The scripts of the workload-wide fetch concurrency (worker/workload-slots.ts): granting, giving back
 * and renewing leases. Their keys are a workload's lease set and demand set (Keys.workload), which share
 * the workload's hash tag. Granting and giving back announce who waits on Keys.fetchLeaseChannel, passed
 * in as `channel`; `parseLeaseNews` reads those messages.
 */
import { defineScript } from './redis-script';

/** A comma-separated list of process tokens, as the scripts send it. */
const tokens = (list: string): string[] => (list === '' ? [] : list.split(','));

export interface LeaseGrant {
  /** Leases granted: `${token}:${firstLease + i}` for i below it. */
  granted: number;
  /** Tokens of the processes that wait for the workload's leases (this one included if it waits). */
  waiting: string[];
}

/**
 * Grants up to `room` leases, never more than `limit` live ones in all; the process notes itself in the
 * demand set when it got fewer than `wanted`, and takes its note off when it got them all.
 */
export const grantLeases = defineScript({
  file: 'fetch-lease-grant',
  keys: ['fetchLeases', 'fetchLeaseDemand'] as const,
  args: ['channel', 'workloadId', 'leaseTtlMs', 'limit', 'room', 'wanted', 'token', 'firstLease', 'demandTtlMs'] as const,
  decode: (reply: unknown): LeaseGrant => {
    const [granted, waiting] = reply as [number, string];
    return { granted: Number(granted), waiting: tokens(String(waiting)) };
  },
});

/**
 * Gives back the lease ids passed after the arguments; `withdraw` '1' also takes the process off the
 * demand set.
 */
export const releaseLeases = defineScript({
  file: 'fetch-lease-release',
  keys: ['fetchLeases', 'fetchLeaseDemand'] as const,
  args: ['channel', 'workloadId', 'token', 'withdraw'] as const,
  decode: (): void => undefined,
});

/** Pushes the expiry of the lease ids passed after the arguments `leaseTtlMs` past now, if they are still live. */
export const renewLeases = defineScript({
  file: 'fetch-lease-renew',
  keys: ['fetchLeases'] as const,
  args: ['leaseTtlMs'] as const,
  decode: (): void => undefined,
});

/** One message on Keys.fetchLeaseChannel: who waits for a workload's leases, after `announcer`'s change. */
export interface LeaseNews {
  workloadId: string;
  announcer: string;
  waiting: string[];
}

export function parseLeaseNews(message: string): LeaseNews {
  const [workloadId, announcer = '', waiting = ''] = message.split(' ');
  return { workloadId, announcer, waiting: tokens(waiting) };
}
