/** Small shapes the other contract files share. */
import { z } from 'zod';

/** A point in time as an ISO 8601 string (UTC). */
export const isoTime = z.iso.datetime();

/** A workload's id, as the API hands it out (a UUID) and accepts it in paths. */
export const WORKLOAD_ID = /^[A-Za-z0-9_-]{1,64}$/;
