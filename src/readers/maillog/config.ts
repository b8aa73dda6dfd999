// The maillog source's pipeline keys (`source.type: "maillog"`). What they mean: docs/sources/maillog.md.
// The keys are a contract (issue 11): paths, timezone, year, edges, trustedClients, filterRelays,
// filterTransports, userMap, ignoreDomains.

import { isIP } from 'node:net';
import { z } from 'zod';
import { isValidTimeZone } from '../../dates.js';

/** An address or a CIDR range: `127.0.0.1`, `::1`, `10.0.5.0/24`. */
const clientRe = (s: string): boolean => {
  const slash = s.indexOf('/');
  if (slash < 0) return isIP(s) !== 0;
  const family = isIP(s.slice(0, slash));
  const bits = s.slice(slash + 1);
  return family !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32);
};

/** `ADDR:PORT` or `[ADDR]:PORT` (IPv6), as a filter hop's `relay=NAME[ADDR]:PORT` is compared. */
const relayRe = (s: string): boolean => {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(s);
  if (!m) return false;
  return m[1] !== undefined ? isIP(m[1]) === 6 : isIP(m[2]!) === 4;
};

/** A domain name or `*.suffix`. */
const domainPattern = z
  .string()
  .trim()
  .min(1)
  .regex(/^(\*\.)?[^\s*@/]+$/, 'expected a domain name or "*.suffix"');

export const maillogSourceSchema = z.strictObject({
  type: z.literal('maillog'),
  /** Files or globs (`/var/log/mail.log*`), plain or gzip, relative to the pipeline file; `-` = standard input. */
  paths: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .transform((v) => (typeof v === 'string' ? [v] : v)),
  /** The server's zone: classic stamps are local time in it, and days are its days. */
  timezone: z.string().refine(isValidTimeZone, { error: 'expected an IANA time zone name such as Europe/Berlin' }).default('UTC'),
  /** Year of the stream's first line; default: inferred from the newest file's mtime. */
  year: z.int().min(1970).max(9999).optional(),
  /** The first and last day of the stream are partial: `drop` them (default) or `keep` them. */
  edges: z.enum(['drop', 'keep']).default('drop'),
  /** Clients whose unauthenticated mail is the server's own (webmail, scripts): addresses or CIDR ranges. */
  trustedClients: z
    .array(z.string().trim().refine(clientRe, { error: 'expected an IP address or CIDR range, e.g. 127.0.0.1 or 10.0.5.0/24' }))
    .default(['127.0.0.1', '::1']),
  /** Content filters by relay address: `ADDR:PORT`, `[ADDR]:PORT` for IPv6. */
  filterRelays: z
    .array(z.string().trim().refine(relayRe, { error: 'expected ADDR:PORT or [IPv6]:PORT, e.g. 127.0.0.1:10024' }))
    .default(['127.0.0.1:10024', '[::1]:10024', '127.0.0.1:10026']),
  /** Content filters by transport (master.cf service) name, e.g. a pipe transport `filter`. */
  filterTransports: z.array(z.string().trim().min(1)).default([]),
  /** CSV `user,domain` for Dovecot logins without `@` (relative to the pipeline file). */
  userMap: z.string().min(1).optional(),
  /** Names (or `*.suffix`) counted as ignored, neither sent nor unresolved: the server's own host name, localhost. */
  ignoreDomains: z.array(domainPattern).default(['localhost', 'localhost.localdomain']),
});

export type MaillogSourceConfig = z.output<typeof maillogSourceSchema>;
export type MaillogSourceInput = z.input<typeof maillogSourceSchema>;
