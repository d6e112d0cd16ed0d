/**
 * A small Server-Sent Events reader (the subset chunkmill sends: `event:`, `data:`, comments), over a
 * fetch Response body. Lines may end in LF, CRLF or CR; a blank line dispatches the event.
 */

export interface SseMessage {
  event: string;
  data: string;
}

export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // A CR at the very end may be the first half of a CRLF: keep it until more arrives.
      let lineEnd: RegExpExecArray | null;
      const lineBreak = /\r\n|\r(?!$)|\n/g;
      let consumed = 0;
      while ((lineEnd = lineBreak.exec(buffer)) !== null) {
        const line = buffer.slice(consumed, lineEnd.index);
        consumed = lineEnd.index + lineEnd[0].length;
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let fieldValue = colon === -1 ? '' : line.slice(colon + 1);
        if (fieldValue.startsWith(' ')) fieldValue = fieldValue.slice(1);
        if (field === 'event') event = fieldValue;
        else if (field === 'data') data.push(fieldValue);
      }
      buffer = buffer.slice(consumed);
      if (done) return;
    }
  } finally {
    // Ends the HTTP response when the consumer stops early (break, abort, error).
    await reader.cancel().catch(() => undefined);
  }
}
