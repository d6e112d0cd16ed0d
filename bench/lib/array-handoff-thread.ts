/**
 * A piscina thread for the in-host hand-off micro-benchmark (array-multiply.ts): the same multiply,
 * with the arrays reaching the thread three ways — shared (SharedArrayBuffer views, nothing copied),
 * cloned (a Float64Array copied by structured clone each way), and as JSON text (the `inputs` path).
 */
export function mulShared({ x, y, out }: { x: SharedArrayBuffer; y: SharedArrayBuffer; out: SharedArrayBuffer }): number {
  const [a, b, c] = [new Float64Array(x), new Float64Array(y), new Float64Array(out)];
  for (let i = 0; i < a.length; i++) c[i] = a[i] * b[i];
  return a.length;
}

export function mulCloned({ x, y }: { x: Float64Array; y: Float64Array }): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * y[i];
  return out;
}

export function mulJson(text: string): string {
  const { x, y } = JSON.parse(text) as { x: number[]; y: number[] };
  const out = new Array<number>(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * y[i];
  return JSON.stringify(out);
}
