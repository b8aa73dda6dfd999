// What every stage of a run gets: the pipeline, the options the operator gave, the logger, the run events,
// and what earlier stages opened (the Plesk client, the ledger). Stages take this one context and return
// their output; the flow (src/flow.ts) calls them in order.

import type { Logger } from 'pino';
import type { Pipeline } from '../config.js';
import type { Ledger } from '../ledger/index.js';
import type { PleskApi } from '../plesk/types.js';
import type { Reader } from '../readers/types.js';
import type { RunEvents } from './events.js';

export interface RunOptions {
  pipeline: Pipeline;
  dryRun: boolean;
  /** Dry-run: write each packet as a numbered .xml file (and diff.jsonl) here. */
  outDir?: string;
  reportPath?: string;
  rejectsPath?: string;
  from?: string;
  to?: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  stdin?: NodeJS.ReadableStream;
  /** Where the dry-run diff is printed. */
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Tests: use this API instead of building a client. */
  api?: PleskApi;
  /** Subscribers (progress, metrics) attach here before the run starts; one is made when absent. */
  events?: RunEvents;
  /** `--workers`: threads for reading one large input (undefined: the reader decides). */
  workers?: number;
  /** Import days that are not over yet in the panel's zone too (default: only closed days). */
  includeOpenDays?: boolean;
  /** Aborted by SIGTERM/SIGINT (its reason is the signal's name): start nothing new, finish what is in flight. */
  signal?: AbortSignal;
  /** Aborted when the grace time is over: stop waiting for packets in flight (their intents stay open). */
  deadline?: AbortSignal;
}

export interface RunWindow {
  from?: string;
  to?: string;
}

export interface RunContext {
  readonly pipeline: Pipeline;
  readonly opts: RunOptions;
  readonly log: Logger;
  readonly events: RunEvents;
  readonly window: RunWindow;
  readonly reader: Reader;
  /** The Plesk client (connect); absent in an offline dry-run. */
  api?: PleskApi;
  /** The client was built here (and is closed at the end), not handed in. */
  ownApi: boolean;
  /** The ledger (live runs; read-only for an additive dry-run). */
  ledger?: Ledger;
  runId?: string;
  locked: boolean;
}
