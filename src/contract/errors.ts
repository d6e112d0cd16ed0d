/** The error envelope: what every refused request answers, and what a stream ends with when it cannot go on. */
import { z } from 'zod';

export const apiErrorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'A stable upper-case code, e.g. VALIDATION_FAILED' }),
      message: z.string().meta({ description: 'What went wrong, for a person' }),
      details: z.array(z.unknown()).meta({ description: 'More about it: for VALIDATION_FAILED `{path, message}` per problem; for WORKLOAD_LOST `{id}`' }),
    }),
  })
  .meta({ description: 'The error envelope' });
export type ApiError = z.infer<typeof apiErrorSchema>;
