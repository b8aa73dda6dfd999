// A run stopped by SIGTERM or SIGINT (src/signals.ts aborts RunOptions.signal with the signal's name): the
// stages start nothing new once it is aborted, and the flow reports the run as interrupted.

import type { RunContext } from './context.js';

export type StopSignal = 'SIGTERM' | 'SIGINT';

export class Interrupted extends Error {
  constructor(readonly signal: StopSignal) {
    super(`stopped by ${signal}`);
    this.name = 'Interrupted';
  }
}

/** The signal that aborted `s`, if it was. */
export function stopSignalOf(s: AbortSignal | undefined): StopSignal | undefined {
  if (!s?.aborted) return undefined;
  return s.reason === 'SIGINT' ? 'SIGINT' : 'SIGTERM';
}

/** Between stages: throw Interrupted once a signal asked to stop. */
export function stopIfAsked(ctx: RunContext): void {
  const sig = stopSignalOf(ctx.opts.signal);
  if (sig) throw new Interrupted(sig);
}

/** Resolves when `s` is aborted (never, without one). */
export function whenAborted(s: AbortSignal | undefined): Promise<void> {
  if (!s) return new Promise(() => undefined);
  if (s.aborted) return Promise.resolve();
  return new Promise((resolve) => s.addEventListener('abort', () => resolve(), { once: true }));
}
