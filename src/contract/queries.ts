/** The query strings the routes accept (validated with these schemas; documented from them). */
import { z } from 'zod';
import { LIMITS } from './limits';
import { workloadStatusSchema } from './workload-answers';

/** `GET /v1/workloads` */
export const listQuery = z.object({
  status: workloadStatusSchema.optional().meta({ description: 'Only workloads in this status' }),
  limit: z.coerce.number().int().min(1).max(LIMITS.maxListLimit).default(50).meta({ description: 'Workloads at most' }),
});
export type ListQuery = z.infer<typeof listQuery>;

/** `GET /v1/workloads/{id}/results` */
export const resultsQuery = z.object({
  wait: z.coerce.number().int().min(0).max(LIMITS.maxWaitMs).default(0).meta({ description: 'Long-poll up to this many ms for the workload to finish' }),
  offset: z.coerce.number().int().min(0).default(0).meta({ description: 'The first item of the answer' }),
  limit: z.coerce.number().int().min(1).max(LIMITS.maxResultsLimit).optional().meta({ description: 'Items at most; default: every item from offset' }),
});
export type ResultsQuery = z.infer<typeof resultsQuery>;

/** `PUT /v1/arrays/{name}` */
export const arrayPutQuery = z.object({
  ttl: z.coerce
    .number()
    .int()
    .min(1)
    .max(LIMITS.maxArrayTtlSeconds)
    .optional()
    .meta({ description: 'Seconds until the array expires; default RESULT_TTL_SECONDS' }),
});
export type ArrayPutQuery = z.infer<typeof arrayPutQuery>;
