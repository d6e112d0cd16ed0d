/**
 * The API contract, once: every request and answer of the producer API as a zod schema, each field
 * described (`.meta({ description })`). From it come the server's validation, the TypeScript types
 * (`z.infer`), the OpenAPI document (src/producer/openapi.ts), the SDK's types
 * (src/sdk/contract.generated.ts, `npm run contract`) and the CLI's submit options (src/cli/submission-flags.ts).
 * Nothing here imports the task registry or anything that talks to Redis.
 */
export * from './limits';
export * from './common';
export * from './errors';
export * from './arrays';
export * from './workload-submission';
export * from './workload-answers';
export * from './events';
export * from './queries';
export * from './tasks';
export * from './workers';
export * from './json-schema';
