// Plesk error codes and what the client does with each (docs/reference/plesk-transport.md "Response and errors";
// docs/reference/plesk-api-notes.md §2.3, docs.plesk.com "Reduced List of Error Codes"). Which codes may pass on a second
// try is a judgement, not documented: only 1003 and 1023 are treated as transient.

/** Credentials rejected: never retried (repeated failures may lock the login, 1012). */
export const AUTH_CODES: ReadonlySet<number> = new Set([
  1001, // authentication failed
  1010, // access to panel denied
  1011, // account disabled
  1012, // locked login
  1029, // authentication method not specified (no or unsupported auth headers)
  11003, // secret key validation failed (wrong key or source IP)
]);

/** The packet itself is wrong for this server: resending it cannot help. */
export const PACKET_CODES: ReadonlySet<number> = new Set([
  1005, // protocol version not supported
  1014, // parsing error: wrong format of XML request
  1017, // feature not supported by this protocol version
]);

/** May pass later (agent initialization, generic operation failure). */
export const TRANSIENT_CODES: ReadonlySet<number> = new Set([1003, 1023]);

/** Object does not exist: for get/get_traffic an unknown name or id, not an error of the run. */
export const NOT_FOUND = 1013;

export type SystemErrorKind = 'auth' | 'packet' | 'transient' | 'other';

export function classifySystemCode(code: number | undefined): SystemErrorKind {
  if (code === undefined) return 'other';
  if (AUTH_CODES.has(code)) return 'auth';
  if (PACKET_CODES.has(code)) return 'packet';
  if (TRANSIENT_CODES.has(code)) return 'transient';
  return 'other';
}
