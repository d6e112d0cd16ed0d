import { z } from 'zod';
import { defineTask } from './task-definition';

const MAX_ELEMENTS = 1_000_000;

/** The notebook's `mularray`: element-wise product of two equal-length number arrays. */
export const mulArrays = defineTask({
  name: 'mulArrays',
  description: 'Element-wise product of x and y (equal length).',
  input: z
    .strictObject({
      x: z.array(z.number()).max(MAX_ELEMENTS),
      y: z.array(z.number()).max(MAX_ELEMENTS),
    })
    .refine((pair) => pair.x.length === pair.y.length, { message: 'x and y must have the same length' }),
  output: 'other',
  deterministic: true,
  run({ x, y }: { x: number[]; y: number[] }): number[] {
    const product = new Array<number>(x.length);
    for (let i = 0; i < x.length; i++) product[i] = x[i] * y[i];
    return product;
  },
});
