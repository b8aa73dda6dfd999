// The Plesk XML API emulator: an independent server-side implementation for tests, demos and benches.

export { startEmulator, AGENT_PATH, SERVER_VERSION } from './server.js';
export type { Emulator, EmulatorOptions, Hold } from './server.js';
export { runEmulator } from './run.js';
export type { RunEmulatorArgs, RunningEmulator } from './run.js';
export type { Faults } from './faults.js';
export { emulatorFixtureSchema, buildState, dumpState, loadFixture } from './fixture.js';
export type { EmulatorFixture, EmulatorState, Subscription, Site, Plan } from './fixture.js';
