import { defaultChunkSize, planChunks } from '../../src/core/chunk-planner';

describe('chunk planner', () => {
  it('cuts N items into ceil(N / chunkSize) chunks covering every item once', () => {
    const chunks = planChunks(10, 3);
    expect(chunks).toEqual([
      { chunkIndex: 0, start: 0, end: 3 },
      { chunkIndex: 1, start: 3, end: 6 },
      { chunkIndex: 2, start: 6, end: 9 },
      { chunkIndex: 3, start: 9, end: 10 },
    ]);
    expect(planChunks(1000, 7)).toHaveLength(Math.ceil(1000 / 7));
  });

  it('picks a default chunk size that spreads work without huge chunks', () => {
    expect(defaultChunkSize(20)).toBe(1);
    expect(defaultChunkSize(640)).toBe(10);
    expect(defaultChunkSize(10_000_000)).toBe(1000);
  });
});
