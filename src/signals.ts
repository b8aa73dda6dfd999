// SIGTERM and SIGINT for a run. The first signal stops the run gently: no new packet starts, packets in flight
// get the grace time (--grace, default 20 s: below Kubernetes' 30 s before its SIGKILL) to be answered and
// committed; then the report, the metrics and the run record are written and the process exits 143 (SIGTERM) or
// 130 (SIGINT). A second signal exits at once: whatever was in flight is settled by the next run (intents are
// read back from Plesk; absolute and cumulative runs re-read and converge).
//
// The CLI may be PID 1 in a container (Kubernetes has no --init): Linux then delivers no signal whose handler
// is the default, so every command installs a handler (exitOnSignal for the short ones).

import type { Logger } from 'pino';
import { EXIT, type ExitCode } from './errors.js';

export type StopSignal = 'SIGTERM' | 'SIGINT';

export const SIGNAL_EXIT: Record<StopSignal, ExitCode> = { SIGTERM: EXIT.SIGTERM, SIGINT: EXIT.SIGINT };

export class Shutdown {
  /** The signal that asked to stop, once one did. */
  signal: StopSignal | undefined;
  /** Aborted on the first signal: start nothing new. */
  readonly stop = new AbortController();
  /** Aborted when the grace time is over: stop waiting for what is in flight. */
  readonly deadline = new AbortController();
  readonly #handlers: [StopSignal, () => void][] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly graceMs: number, private readonly log: Logger, private readonly exit: (code: number) => never = process.exit) {}

  /** Listen for SIGTERM and SIGINT until uninstall(). */
  install(): this {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const h = () => this.received(sig);
      process.on(sig, h);
      this.#handlers.push([sig, h]);
    }
    return this;
  }

  uninstall(): void {
    for (const [sig, h] of this.#handlers) process.off(sig, h);
    this.#handlers.length = 0;
    if (this.#timer) clearTimeout(this.#timer);
  }

  get exitCode(): ExitCode | undefined {
    return this.signal ? SIGNAL_EXIT[this.signal] : undefined;
  }

  received(sig: StopSignal): void {
    if (this.signal) {
      this.log.warn({ signal: sig }, 'second signal: exiting now; the next run settles whatever was in flight');
      this.exit(SIGNAL_EXIT[this.signal]);
    }
    this.signal = sig;
    this.log.warn({ signal: sig, graceSeconds: this.graceMs / 1000 }, 'stopping: no new packet; packets in flight get the grace time (a second signal exits at once)');
    this.stop.abort(sig);
    this.#timer = setTimeout(() => {
      this.log.warn({ signal: sig }, 'grace time over: not waiting for packets still in flight (the next run settles them)');
      this.deadline.abort(sig);
    }, this.graceMs);
    this.#timer.unref();
  }
}

/** Commands with nothing to wind down: exit at once on SIGTERM/SIGINT (needed when PID 1, see above). */
export function exitOnSignal(exit: (code: number) => never = process.exit): void {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => exit(SIGNAL_EXIT[sig]));
}
