// Protocol versions: what `server/get_protos` lists and which `<packet version>` values run.

/** The newest protocol version this server speaks (the schema trees' version). */
export const SERVER_VERSION = '1.6.9.1';

/**
 * Protocol versions this server lists in `server/get_protos`, oldest first: the docs' sample answer
 * (1.0.0.0 … 1.4.2.0, "Getting Supported Protocols", docs.plesk.com 36172) and every schema version up to
 * ours (plesk/api-schemas; api-php-lib's tests expect 1.6.3.0 and 1.6.6.0 in the list).
 */
export const KNOWN_PROTOCOLS: readonly string[] = [
  '1.0.0.0', '1.1.0.0', '1.2.0.0', '1.3.0.0', '1.3.1.0', '1.3.2.0', '1.3.3.0', '1.3.4.0', '1.3.5.0',
  '1.4.0.0', '1.4.1.0', '1.4.1.1', '1.4.1.2', '1.4.2.0', '1.5.0.0', '1.5.1.0', '1.5.2.0', '1.5.2.1',
  '1.6.0.0', '1.6.0.1', '1.6.0.2', '1.6.1.0', '1.6.2.0', '1.6.3.0', '1.6.3.1', '1.6.3.2', '1.6.3.3',
  '1.6.3.4', '1.6.3.5', '1.6.4.0', '1.6.5.0', '1.6.6.0', '1.6.7.0', '1.6.8.0', '1.6.9.0', SERVER_VERSION,
];

/**
 * Which `<packet version>` values run. A dotted version (1 to 4 numeric parts, missing parts are 0) at or
 * below ours is served: `1.6` and `1.6.5` (api-php-lib's "latest major/minor" tests) as well as `0.1`,
 * which a live panel accepts. Anything else — newer than ours (`1.6.9.2`, `100.0.0`: api-php-lib expects
 * 1005) or not a version at all (`latest`, `1.6.x`, empty) — is refused the same way: 1005.
 */
export function versionSupported(v: string): boolean {
  if (!/^\d+(\.\d+){0,3}$/.test(v)) return false;
  const parts = v.split('.').map(Number);
  const max = SERVER_VERSION.split('.').map(Number);
  for (let i = 0; i < 4; i++) {
    const a = parts[i] ?? 0;
    const b = max[i]!;
    if (a !== b) return a < b;
  }
  return true;
}
