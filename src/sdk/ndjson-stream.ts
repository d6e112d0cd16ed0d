/**
 * A small NDJSON reader over a fetch Response body: one JSON value per line, parsed as each line arrives,
 * so a stream of millions of lines is never held whole. Lines may end in LF or CRLF; blank lines are skipped.
 */
export async function* readNdjson(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const lines = buffer.split('\n');
      // The last piece is a line still arriving (empty when the text ended with a newline).
      buffer = done ? '' : lines.pop()!;
      for (const line of lines) {
        const text = line.endsWith('\r') ? line.slice(0, -1) : line;
        if (text.trim() !== '') yield JSON.parse(text);
      }
      if (done) return;
    }
  } finally {
    // Ends the HTTP response when the consumer stops early (break, abort, error).
    await reader.cancel().catch(() => undefined);
  }
}
