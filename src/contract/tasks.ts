/** `GET /v1/tasks`: the registered compute tasks. */
import { z } from 'zod';

export const TASK_OUTPUTS = ['integer', 'number', 'other'] as const;

export const taskInfoSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    input: z.record(z.string(), z.unknown()).meta({ description: 'JSON Schema of one input' }),
    output: z.enum(TASK_OUTPUTS).meta({ description: 'What the task answers: `integer` and `number` results can be reduced with sum, min and max' }),
    deterministic: z.boolean().meta({ description: 'The same input always gives the same output: the result cache (`cache: true`) applies' }),
  })
  .meta({ description: 'A registered compute task' });
export type TaskInfo = z.infer<typeof taskInfoSchema>;

export const taskListSchema = z.object({ tasks: z.array(taskInfoSchema) });
export type TaskList = z.infer<typeof taskListSchema>;
