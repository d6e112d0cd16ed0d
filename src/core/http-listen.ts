/**
 * Starts a role's HTTP server. A port it cannot have (taken by another program, or not allowed) is a
 * start-up error that names the variable setting it, rather than a crash further on. Requests the HTTP
 * parser refuses are answered in the error envelope (client-errors.ts).
 */
import type { Server } from 'node:http';
import type { Express } from 'express';
import { answerClientErrorsInEnvelope } from './client-errors';
import { ConfigError } from './errors';

export function listenOn(app: Express, port: number, host: string, variable: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    // Express 5 hands the server's 'error' (EADDRINUSE, EACCES, ...) to this callback.
    const server = app.listen(port, host, (error?: Error) => {
      if (!error) {
        answerClientErrorsInEnvelope(server);
        return resolve(server);
      }
      const why = (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'is already in use' : `cannot be used (${error.message})`;
      const problem = `${variable}: port ${port} on ${host} ${why}`;
      reject(new ConfigError(`Cannot start: ${problem}`, [problem]));
    });
  });
}
