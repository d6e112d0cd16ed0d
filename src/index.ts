/** chunkmill's package entry: the SDK. The roles start from their own `main.js` files. */
export * from './sdk';
