/** The script of the array store (array-store.ts). An array is one key, its name its own hash tag. */
import { defineScript } from './redis-script';

/**
 * Removes the array's key if it has no TTL: a SETRANGE made it after the array was gone. Answers whether
 * it removed it.
 */
export const dropArrayIfCreated = defineScript({
  file: 'array-drop-if-created',
  keys: ['array'] as const,
  args: [] as const,
  decode: (reply: unknown): boolean => Number(reply) === 1,
});
