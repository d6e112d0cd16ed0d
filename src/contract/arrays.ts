/** Named Float64 arrays (`/v1/arrays/{name}`): their names and what storing one answers. */
import { z } from 'zod';
import { isoTime } from './common';

/** An array's name: letters, digits, "_" and "-", 1 to 64 characters. */
export const ARRAY_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export const arrayName = z.string().regex(ARRAY_NAME, 'must be an array name: letters, digits, "_" and "-" (1-64)');

/** What `PUT /v1/arrays/{name}` answers. */
export const storedArraySchema = z
  .object({
    name: z.string(),
    length: z.number().int().meta({ description: 'Elements (Float64)' }),
    bytes: z.number().int().meta({ description: 'Bytes stored: 8 per element' }),
    expiresAt: isoTime.meta({ description: 'When the array expires (its TTL)' }),
  })
  .meta({ description: 'A stored array' });
export type StoredArray = z.infer<typeof storedArraySchema>;
