/**
 * Requests Node's HTTP parser refuses before Express ever sees them (headers over the size limit, a
 * malformed request line, a header that is not a header) get the same `{"error": {...}}` answer as every
 * other error, instead of Node's bare `400 Bad Request`. Both HTTP roles install it on their server.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { ChunkmillError, errorEnvelope } from './errors';

function toClientError(error: NodeJS.ErrnoException): ChunkmillError {
  if (error.code === 'HPE_HEADER_OVERFLOW') return new ChunkmillError('HEADERS_TOO_LARGE', 'The request headers are larger than the server accepts.', 431);
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new ChunkmillError('REQUEST_TIMEOUT', 'The request did not arrive in time.', 408);
  return new ChunkmillError('MALFORMED_REQUEST', 'The request is not valid HTTP.', 400);
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

export function answerClientErrorsInEnvelope(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    // A connection the client dropped, or one already answered: nothing to say.
    if (error.code === 'ECONNRESET' || !socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const answer = toClientError(error);
    const body = JSON.stringify(errorEnvelope(answer));
    socket.end(
      `HTTP/1.1 ${answer.httpStatus} ${REASONS[answer.httpStatus]}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
