// pino JSON logs on stderr (stdout stays free for results); pretty when stderr is a TTY and pino-pretty is
// installed. Secrets are redacted by path, and never put into log fields in the first place.
//
// Pretty printing runs in this thread (pino-pretty's prettyFactory), not as a pino transport: a transport is
// resolved by name in a worker thread (the production install crashed on a TTY with "unable to determine
// transport target" when pino-pretty was missing), and its last lines can be lost on process.exit. In-thread,
// every line is written synchronously, and while a live status line (the progress bar) is shown, log lines go
// through it, so it writes them above itself and neither garbles the other.

import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import { TiError } from './errors.js';

export type { Logger };

export const REDACT_PATHS = [
  'password', '*.password', 'token', '*.token', 'secretKey', '*.secretKey',
  'headers.KEY', 'headers.HTTP_AUTH_PASSWD', 'headers.authorization', 'headers.Authorization',
  '*.headers.KEY', '*.headers.HTTP_AUTH_PASSWD', '*.headers.authorization', '*.headers.Authorization',
];

export interface LogOptions {
  level?: string;
  /** Force JSON even on a TTY. */
  json?: boolean;
  /** Tests: where lines go instead of stderr. */
  destination?: { write(line: string): unknown };
  /** Tests: behave as on a TTY. */
  tty?: boolean;
}

/** A live line on stderr (the progress bar) that log lines must not garble. */
export interface StatusLine {
  /** Write a log line (ending in a newline) above the live line, at once. */
  write(text: string): void;
}

let statusLine: StatusLine | undefined;

/** Register (or remove, with undefined) the live status line that log lines are written around. */
export function setStatusLine(line: StatusLine | undefined): void {
  statusLine = line;
}

type PrettyFactory = (opts: Record<string, unknown>) => (line: string) => string;

/** pino-pretty's formatter, or undefined when it is not installed (a JSON-only install stays usable). */
export function loadPretty(): PrettyFactory | undefined {
  try {
    const mod = createRequire(import.meta.url)('pino-pretty') as { prettyFactory?: PrettyFactory };
    return mod.prettyFactory;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/** The levels --log-level and LOG_LEVEL accept (pino's, and silent). */
export const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? (process.env.LOG_LEVEL || 'info');
  if (!LOG_LEVELS.includes(level)) {
    throw new TiError('TI_USAGE', `${opts.level !== undefined ? '--log-level' : 'LOG_LEVEL'} expects one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  }
  const base = {
    level,
    base: { name: 'traffic-import' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  // sync: a short CLI run must not lose its last lines on process.exit.
  const out = opts.destination ?? pino.destination({ dest: 2, sync: true });
  const tty = opts.tty ?? process.stderr.isTTY === true;
  const factory = !opts.json && tty && !process.env.NO_PRETTY ? loadPretty() : undefined;
  const format = factory?.({ colorize: !process.env.NO_COLOR && !opts.destination, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' });
  const dest: DestinationStream = {
    write(line: string) {
      const text = format ? format(line) : line;
      if (statusLine) statusLine.write(text);
      else out.write(text);
    },
  };
  return pino(base, dest);
}

/** A logger that writes nothing (tests, benches). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
