// pino JSON logs on stderr (stdout stays free for results); pretty when stderr is a TTY.
// Secrets are redacted by path, and never put into log fields in the first place.

import { pino, type Logger } from 'pino';

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
}

export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  const base = {
    level,
    base: { name: 'traffic-import' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (!opts.json && process.stderr.isTTY && !process.env.NO_PRETTY) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { destination: 2, colorize: !process.env.NO_COLOR } } });
  }
  // sync: a short CLI run must not lose its last lines on process.exit.
  return pino(base, pino.destination({ dest: 2, sync: true }));
}

/** A logger that writes nothing (tests, benches). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
