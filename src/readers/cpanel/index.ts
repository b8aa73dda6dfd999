// cPanel readers (`source.type: "cpanel"`): the live WHM API, per-user SQLite databases,
// cpmove backup dumps and pre-2015 flat files. Facts and citations: docs/reference/cpanel-bandwidth.md.
//
// What cPanel measures and how it maps to Plesk set_traffic (facts: docs/reference/cpanel-bandwidth.md §2, §8.2)
//
// | cPanel protocol | what cPanel counts                                     | Plesk metric                        |
// |-----------------|--------------------------------------------------------|-------------------------------------|
// | smtp            | size of messages delivered to remote hosts (outbound) | smtp_out                            |
// | pop3 + imap     | bytes sent to mail clients (Dovecot `%o`)              | pop3_imap_out                       |
// | —               | inbound SMTP: not measured                             | smtp_in: missing (Plesk's kept)     |
// | —               | bytes clients send over POP3/IMAP: not measured        | pop3_imap_in: missing (Plesk's kept)|
// | http, ftp       | web and FTP traffic                                    | ignored, counted (ctx.ignored)      |
// | anything else   | unknown protocol                                       | ignored, counted; never guessed     |
//
// "Missing" = left out of `metrics`, so reconcile keeps what Plesk already has for it.
//
// - Per account, not per domain: cPanel records all mail under the pseudo-domain UNKNOWN (§1.1). An
//   account's mail goes to its main domain, found in this order: the `accountMap` CSV (`user,domain`)
//   if given; else the cpuser file's `DNS=` line (`usersPath/<user>`, default /var/cpanel/users; or
//   `cp/<user>` inside a cpmove archive) or WHM `listaccts` (`from: "api"`). An account whose main
//   domain cannot be found is rejected (R_NO_DOMAIN, naming the account), never dropped silently.
// - Days: daily rows are keyed by the cPanel server's local midnight (§5.1); `timezone` (the
//   server's zone, default UTC) turns them into dates. With `interval: "hourly"` the hourly rows are
//   bucketed into the days of `timezone`, which is then the zone of the days you want (§8.3).
// - Exactly one interval is read (daily, or hourly when asked): dumps hold daily, hourly and
//   5-minute rows of the same bytes (§5.1, §5.3); reading two would count the traffic twice.
// - Only UNKNOWN's mail is read from dumps (§9); a mail row under a named domain is ignored and
//   counted. Legacy flat files: mail only from the `<user>` daily file (before ~2010 non-HTTP traffic
//   was duplicated into the main domain's file, §5.2); `-all` summary lines are ignored; their dates
//   are already the server's local days.
// - Values may be fractional or strings: they are summed per (account, day, metric) as fixed-point
//   bigints and rounded half up once, at the end.
// - Zero days: a day the source holds for an account gets both smtp_out and pop3_imap_out; a
//   protocol without rows that day is 0 (cPanel writes no zero rows, §8.4). The API reader treats
//   every day of its window that way; the dump readers emit the days they hold (all of them: the
//   normalizer applies --from/--to).
// - Origins: `api` file = the account name, line 0; `sqlite` file = the database path, line 0
//   (a rejected row carries its rowid as line); `backup` and `legacy` file = the data file (inside
//   an archive: `archive.tar.gz:cpmove-<user>/bandwidth_db_data.json`), line = the first line of
//   that day.

import path from 'node:path';
import type { Reader } from '../types.js';
import { createApiReader } from './api.js';
import { createBackupReader } from './backup.js';
import type { CpanelSource } from './config.js';
import { createLegacyReader } from './legacy.js';
import { createSqliteReader } from './sqlite.js';

export * from './config.js';

export function createCpanelReader(cfg: CpanelSource): Reader {
  const reader = ((): Reader => {
    switch (cfg.from) {
      case 'api':
        return createApiReader(cfg);
      case 'sqlite':
        return createSqliteReader(cfg);
      case 'backup':
        return createBackupReader(cfg);
      case 'legacy':
        return createLegacyReader(cfg);
    }
  })();
  // The dumps are files: an additive slice is named by their content.
  const file = 'path' in cfg ? cfg.path : undefined;
  return file === undefined ? reader : { ...reader, sliceInputs: (baseDir: string) => [path.resolve(baseDir, file)] };
}
