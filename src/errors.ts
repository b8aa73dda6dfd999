// One catalogue of the tool's error codes and exit codes, so an operator can look up any failure
// (modelled on fastify's lib/errors.js). Every fatal error the CLI prints carries one of these codes.

/** Exit codes a scheduler can act on. */
export const EXIT = {
  /** Everything read was imported (or was already there). */
  OK: 0,
  /** Finished, but some records were rejected, unresolved or failed: look at the report and reject file. */
  PARTIAL: 1,
  /** Usage, configuration or fatal error: nothing more was attempted. Fix the cause and run again. */
  FATAL: 2,
  /** Stopped by SIGINT (128 + 2): packets in flight finished or were left to the next run; report written. */
  SIGINT: 130,
  /** Stopped by SIGTERM (128 + 15), as a scheduler stops a job: the same. Re-running converges. */
  SIGTERM: 143,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const ERRORS = {
  TI_USAGE: 'Command-line usage error',
  TI_CONFIG: 'Pipeline file is invalid',
  TI_CONFIG_READ: 'Pipeline file cannot be read',
  TI_SECRET_MISSING: 'Credentials are missing from the environment',
  TI_SOURCE_UNREADABLE: 'Source cannot be read',
  TI_SOURCE_HEADER: 'Source has no usable header',
  TI_SOURCE_FORMAT: 'Source is not in the expected format',
  TI_SOURCE_AUTH: 'Source rejected the credentials',
  TI_PLESK_AUTH: 'Plesk rejected the credentials',
  TI_PLESK_PACKET: 'Plesk rejected the packet as malformed',
  TI_PLESK_SYSTEM: 'Plesk refused the request',
  TI_PLESK_TRANSPORT: 'Plesk could not be reached',
  TI_PLESK_RESPONSE: 'Plesk answered with a response that cannot be used',
  TI_TLS: 'TLS setup failed',
  TI_LOCKED: 'Another run of this pipeline is active',
  TI_STATE: 'State directory (ledger) cannot be used',
  TI_INTERNAL: 'Internal error',
} as const;
export type ErrorCode = keyof typeof ERRORS;

/** A fatal error of the run: it stops the run with EXIT.FATAL and a message that says what to fix. */
export class TiError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(`${ERRORS[code]}: ${message}`, options);
    this.name = 'TiError';
    this.code = code;
    this.exitCode = EXIT.FATAL;
    this.details = details;
  }
}

/** Codes for rejected records (per row/key, not fatal). The reject file's `code` column carries these. */
export const REJECTS = {
  R_NOT_NUMERIC: 'value is not a number',
  R_NEGATIVE: 'value is negative',
  R_OVER_LONG: 'value exceeds xs:long (9223372036854775807)',
  R_BAD_DATE: 'date is not a valid calendar date or timestamp',
  R_EMPTY_TARGET: 'domain (or dom_id) is empty',
  R_BAD_TARGET: 'domain or dom_id is not valid',
  R_COLUMN_COUNT: 'wrong number of columns',
  R_BAD_PROTOCOL: 'unknown protocol',
  R_BAD_DIRECTION: 'unknown direction',
  R_BAD_UNIT: 'unknown unit',
  R_PARSE: 'row cannot be parsed',
  R_RECORD_TOO_LONG: "record is longer than the source's maxRecordBytes",
  R_UNRESOLVED: 'domain not found in Plesk',
  R_NO_DOMAIN: 'account has no main domain',
  R_SOURCE_ERROR: 'source reported an error for this object',
  R_COUNTER_RESET: 'cumulative total is lower than what is recorded (counter reset or wrong period)',
  /** Only in the report's heldBack list (never a reject-file row): see docs/reconcile.md, "Held back". */
  R_HELD_NODE: 'additive node not sent: another metric of it is held back, and a node is applied whole or not at all',
  R_UNATTRIBUTABLE: 'mail account has no domain and is not in the user map',
} as const;
export type RejectCode = keyof typeof REJECTS;

/**
 * Message of any thrown value. Secrets never reach it: they are kept out of every message where it is built, and
 * the Plesk and OpenSRS clients scrub answers that echo them (src/plesk/client.ts, src/readers/opensrs.ts).
 */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
