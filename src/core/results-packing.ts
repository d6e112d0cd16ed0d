/**
 * How a chunk's item outcomes are stored: one text per chunk (a field of the workload's `results` hash),
 * not one field per item. The text has one slot per item of the chunk, in order, separated by
 * SLOT_SEPARATOR (a newline, which JSON text never holds raw):
 *
 *   <JSON value>           the item succeeded with this value
 *   !<JSON {code,message}> the item failed for good (ERROR_MARK: no JSON value starts with it)
 *   (empty)                no outcome yet
 *
 * So a no-op result costs Redis two bytes, a chunk is one write, and a completed chunk without errors
 * reads back as the body of a JSON array by turning its separators into commas: no item is parsed or
 * written out again. The recording script (lua/record-chunk.lua) fills only empty slots: an item's first
 * outcome wins.
 */
import { chunkItemCount, type ChunkJobData, type ItemErrorView, type ItemOutcome } from './workload';
import { ERROR_MARK, SLOT_SEPARATOR } from './redis/protocol-constants';

/** Where a chunk's items are in its workload. */
export interface ChunkPosition {
  /** The chunk's number (its field in the results hash). */
  index: number;
  /** The workload index of its first item. */
  start: number;
  /** Its items: the workload's chunkSize, fewer for the last chunk. */
  size: number;
}

/** Where a chunk job's items are in its workload. */
export function chunkPosition(data: ChunkJobData): ChunkPosition {
  return { index: data.chunkIndex, start: data.start, size: chunkItemCount(data) };
}

/** Chunk `index` of a workload with the given chunkSize and total. */
export function chunkAt(index: number, chunkSize: number, total: number): ChunkPosition {
  const start = index * chunkSize;
  return { index, start, size: Math.max(0, Math.min(chunkSize, total - start)) };
}

/** One slot's text for an outcome. */
function slotText(outcome: ItemOutcome): string {
  return outcome.ok ? JSON.stringify(outcome.value ?? null) : ERROR_MARK + JSON.stringify({ code: outcome.code, message: outcome.message });
}

/** The packed text of a chunk with these outcomes (the other slots empty), and how many succeeded or failed. */
export function packOutcomes(chunk: ChunkPosition, outcomes: Iterable<ItemOutcome>): { packed: string; ok: number; failed: number } {
  const slots: string[] = new Array(chunk.size).fill('');
  let ok = 0;
  let failed = 0;
  for (const outcome of outcomes) {
    const position = outcome.index - chunk.start;
    if (position < 0 || position >= chunk.size) throw new RangeError(`Item ${outcome.index} is not in chunk ${chunk.index}`);
    // The first outcome of an item wins, here as in Redis.
    if (slots[position] !== '') continue;
    slots[position] = slotText(outcome);
    if (outcome.ok) ok++;
    else failed++;
  }
  return { packed: slots.join(SLOT_SEPARATOR), ok, failed };
}

/** What a slot says: nothing yet, a value (its JSON text, as stored), or an error. */
export type Slot = { kind: 'empty' } | { kind: 'ok'; json: string } | { kind: 'error'; error: { code: string; message: string } };

function readSlot(text: string): Slot {
  if (text === '') return { kind: 'empty' };
  if (text[0] === ERROR_MARK) return { kind: 'error', error: JSON.parse(text.slice(1)) as { code: string; message: string } };
  return { kind: 'ok', json: text };
}

/**
 * Reads the slots of a packed text whose first slot is item `start`, calling `visit` for each item in
 * [from, to) that the text holds (by default, every one).
 */
export function forEachSlot(packed: string, start: number, visit: (index: number, slot: Slot) => void, from = start, to = Infinity): void {
  const slots = packed.split(SLOT_SEPARATOR);
  const end = Math.min(to, start + slots.length);
  for (let index = Math.max(from, start); index < end; index++) visit(index, readSlot(slots[index - start]));
}

/** The slots of a stored chunk (`null`: nothing stored yet), as many as the chunk has items. */
export function unpackSlots(packed: string | null, size: number): string[] {
  if (packed === null) return new Array(size).fill('');
  return packed.split(SLOT_SEPARATOR);
}

const SEPARATOR_BYTE = SLOT_SEPARATOR.charCodeAt(0);
const ERROR_MARK_BYTE = ERROR_MARK.charCodeAt(0);
const COMMA_BYTE = ','.charCodeAt(0);

/** Whether a stored chunk has an outcome in every slot, and no error among them. */
function isWholeWithoutErrors(packed: Buffer): boolean {
  return (
    packed.length > 0 &&
    packed[0] !== SEPARATOR_BYTE &&
    packed[0] !== ERROR_MARK_BYTE &&
    packed[packed.length - 1] !== SEPARATOR_BYTE &&
    packed.indexOf(SLOT_SEPARATOR + SLOT_SEPARATOR) === -1 &&
    packed.indexOf(SLOT_SEPARATOR + ERROR_MARK) === -1
  );
}

/**
 * Appends items [from, to) of a chunk (absolute workload indexes) to a results answer: their values as
 * comma-separated JSON text into `parts`, their errors into `errors`. A whole chunk with every item
 * succeeded is its stored bytes with each separator turned into a comma (`packed` is changed).
 */
export function appendResults(chunk: ChunkPosition, packed: Buffer | null, from: number, to: number, parts: string[], errors: ItemErrorView[]): void {
  const count = to - from;
  if (count <= 0) return;
  if (packed === null) {
    parts.push(new Array(count).fill('null').join(','));
    return;
  }
  if (from === chunk.start && to === chunk.start + chunk.size && isWholeWithoutErrors(packed)) {
    for (let at = packed.indexOf(SEPARATOR_BYTE); at !== -1; at = packed.indexOf(SEPARATOR_BYTE, at + 1)) packed[at] = COMMA_BYTE;
    parts.push(packed.toString());
    return;
  }
  const values: string[] = new Array(count).fill('null');
  forEachSlot(
    packed.toString(),
    chunk.start,
    (index, slot) => {
      if (slot.kind === 'ok') values[index - from] = slot.json;
      else if (slot.kind === 'error') errors.push({ index, code: slot.error.code, message: slot.error.message });
    },
    from,
    to,
  );
  parts.push(values.join(','));
}
