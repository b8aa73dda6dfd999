// `traffic-import emulator`: the emulator as a process, for demos and manual tests against a client.
// The URL goes to stdout (the only line there, so scripts can read it); logs go to the logger (stderr).

import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { TiError, errorMessage } from '../../errors.js';
import type { Faults } from './faults.js';
import { startEmulator, type Emulator } from './server.js';

export interface RunEmulatorArgs {
  /** Path of the fixture JSON. */
  fixture: string;
  port?: number;
  host?: string;
  /** Paths of PEM files; both or neither (HTTPS when given). */
  tlsCert?: string;
  tlsKey?: string;
  semantics?: 'replace' | 'add';
  /** Write the final state here (fixture format) on SIGINT/SIGTERM. */
  dumpOnExit?: string;
  /** Faults to start with (e.g. latency for benches and demos). */
  faults?: Faults;
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TiError('TI_TLS', `emulator ${what} ${file}: ${errorMessage(err)}`);
  }
}

export interface RunningEmulator {
  emulator: Emulator;
  /** Closes the server and writes the dump when asked; what SIGINT/SIGTERM do before exiting. */
  stop(): Promise<void>;
}

/**
 * Starts the emulator, prints its URL on stdout and, on SIGINT/SIGTERM, stops it (writing the dump if
 * asked) and exits with 0. `exit` is replaceable for tests.
 */
export async function runEmulator(
  args: RunEmulatorArgs,
  log: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
): Promise<RunningEmulator> {
  if ((args.tlsCert === undefined) !== (args.tlsKey === undefined)) {
    throw new TiError('TI_USAGE', 'emulator: give both --tls-cert and --tls-key, or neither');
  }
  const tls = args.tlsCert !== undefined && args.tlsKey !== undefined
    ? { cert: readPem(args.tlsCert, 'certificate'), key: readPem(args.tlsKey, 'key') }
    : undefined;
  const host = args.host ?? '127.0.0.1';
  const port = args.port ?? 0;
  const emulator = await startEmulator({
    fixture: args.fixture,
    host,
    port,
    ...(tls ? { tls } : {}),
    setTrafficSemantics: args.semantics ?? 'replace',
    ...(args.faults ? { faults: args.faults } : {}),
    log,
  }).catch((err: unknown) => {
    // A busy or forbidden address is the operator's to fix: one coded line, not an internal error with a stack.
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'is already in use' : code === 'EACCES' ? 'needs privileges (a port below 1024?)' : code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : undefined;
    if (why) throw new TiError('TI_USAGE', `emulator: ${host}:${port} ${why} (${code}): choose another --port or --host`, { code });
    throw err;
  });
  process.stdout.write(`${emulator.url}\n`);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= (async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    log.info({ requests: emulator.requests, setTrafficNodes: emulator.setTrafficNodes }, 'emulator: stopping');
    await emulator.close();
    if (args.dumpOnExit) {
      writeFileSync(args.dumpOnExit, `${JSON.stringify(emulator.dump(), null, 2)}\n`);
      log.info({ file: args.dumpOnExit }, 'emulator: state written');
    }
  })());
  function onSignal(signal: NodeJS.Signals): void {
    log.info({ signal }, 'emulator: signal received');
    stop().then(() => exit(0), (err: unknown) => {
      log.error({ err }, 'emulator: stop failed');
      exit(2);
    });
  }
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { emulator, stop };
}
