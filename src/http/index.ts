// The one HTTP layer: settings vocabulary, failure classification, retries, the undici dispatcher and client.
export * from './settings.js';
export * from './failures.js';
export * from './retry.js';
export * from './client.js';
