// Writers of real cPanel bandwidth data, used by the tests, by the WHM mock and to produce the
// committed samples under samples/cpanel/ (`writeCpanelSamples`). They write what cPanel writes:
// the schema of CP:Cpanel/BandwidthDB/Schema.pm (version 3), samples added to all three interval
// tables at once like CP:Cpanel/BandwidthDB/Write.pm, the pkgacct dump of
// CP:Cpanel/BandwidthDB/Read.pm `get_backup_manifest`/`generate_backup_data`, and the pre-2015 flat
// files read by CP:Cpanel/BandwidthDB/Convert.pm (docs/reference/cpanel-bandwidth.md §5).

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as tar from 'tar';
import { dayjs } from '../../dates.js';
import { midnightOf } from '../../readers/cpanel/tally.js';

export type CpanelProtocol = 'smtp' | 'pop3' | 'imap' | 'http' | 'ftp';

/** One account's daily totals per protocol (dates are days of the cPanel server's zone). */
export interface CpanelSampleAccount {
  user: string;
  domain: string;
  days: Record<string, Partial<Record<CpanelProtocol, number>>>;
}

/** The sample accounts of samples/cpanel/ and of the demo's WHM mock (Plesk fixture subscriptions 6, 7). */
export const SAMPLE_ACCOUNTS: readonly CpanelSampleAccount[] = [
  {
    user: 'alice',
    domain: 'cpanel-alice.com',
    days: {
      '2026-11-01': { smtp: 5_242_880, pop3: 1_048_576, imap: 3_145_728, http: 73_400_320 },
      '2026-11-02': { smtp: 2_097_153, pop3: 524_288, imap: 1_572_865, http: 10_485_760, ftp: 204_800 },
      '2026-11-03': { smtp: 7_340_032, imap: 2_621_441, http: 1_000 },
    },
  },
  {
    user: 'bob',
    domain: 'cpanel-bob.net',
    days: {
      '2026-11-01': { smtp: 1_000_001, pop3: 250_000, imap: 750_002, http: 5_000_000 },
      '2026-11-02': { imap: 300_003, http: 1_234_567 },
      '2026-11-03': { smtp: 123_456_789, pop3: 1_111, imap: 2_222 },
    },
  },
];

export const INTERVALS = ['5min', 'daily', 'hourly'] as const;
export type Interval = (typeof INTERVALS)[number];

/** One measured transfer: written into all three interval tables, as cPanel does. */
export interface BandwidthSample {
  domain?: string;
  protocol: string;
  unixtime: number;
  bytes: number;
}

/** One row written as is into one table (for odd values: fractions, strings, bad rows). */
export interface BandwidthRow {
  interval: Interval;
  /** Domain name (looked up) or a raw domain_id. */
  domain?: string;
  domainId?: number;
  protocol: string;
  unixtime: number | string | bigint;
  bytes: number | string | bigint;
}

export interface SampleDbSpec {
  /** Domains besides UNKNOWN (id 1), in id order. */
  domains?: string[];
  samples?: BandwidthSample[];
  rows?: BandwidthRow[];
  /** Schema version written into `version` (cPanel's is 3). */
  version?: number;
  /** Zone of the cPanel server: daily rows start at its midnights, hourly rows at its hours. */
  timezone?: string;
  metadata?: Record<string, string>;
}

/** Write a cPanel bandwidth database (`<user>.sqlite`), replacing any file at `file`. */
export async function writeSampleBandwidthDb(file: string, spec: SampleDbSpec): Promise<void> {
  await rm(file, { force: true });
  const db = new Database(file);
  try {
    const zone = spec.timezone ?? 'UTC';
    db.pragma('page_size = 1024'); // small committed samples
    db.exec('CREATE TABLE version (version real primary key)');
    db.prepare('INSERT INTO version VALUES (?)').run(spec.version ?? 3);
    db.exec('CREATE TABLE metadata (key string primary key, value string)');
    for (const interval of INTERVALS) {
      const t = `bandwidth_${interval}`;
      db.exec(`CREATE TABLE "${t}" (domain_id integer, protocol string, unixtime integer, bytes integer, primary key (domain_id, protocol, unixtime))`);
      // cPanel names three indexes but builds all of them ON (unixtime) (Schema.pm).
      for (const idx of ['unixtime', 'protocol', 'domain_id']) db.exec(`CREATE INDEX "${t}_${idx}_index" ON "${t}" (unixtime)`);
    }
    db.exec('CREATE TABLE domains (name string, id integer primary key)');
    const addDomain = db.prepare('INSERT INTO domains (name) VALUES (?)');
    addDomain.run('UNKNOWN');
    for (const d of spec.domains ?? []) addDomain.run(d);
    const ids = new Map<string, number>(
      (db.prepare('SELECT name, id FROM domains').all() as { name: string; id: number }[]).map((r) => [r.name, r.id]),
    );
    const idOf = (name: string | undefined, raw?: number): number => {
      if (raw !== undefined) return raw;
      const id = ids.get(name ?? 'UNKNOWN');
      if (id === undefined) throw new Error(`domain ${name} is not in the sample's domains`);
      return id;
    };
    const setMeta = db.prepare('INSERT INTO metadata (key, value) VALUES (?, ?)');
    for (const [k, v] of Object.entries(spec.metadata ?? {})) setMeta.run(k, v);

    const upsert = Object.fromEntries(
      INTERVALS.map((i) => [
        i,
        db.prepare(`INSERT INTO bandwidth_${i} (domain_id, protocol, unixtime, bytes) VALUES (?, ?, ?, ?)
          ON CONFLICT (domain_id, protocol, unixtime) DO UPDATE SET bytes = bytes + excluded.bytes`),
      ]),
    ) as Record<Interval, Database.Statement>;
    const insert = Object.fromEntries(
      INTERVALS.map((i) => [i, db.prepare(`INSERT INTO bandwidth_${i} (domain_id, protocol, unixtime, bytes) VALUES (?, ?, ?, ?)`)]),
    ) as Record<Interval, Database.Statement>;

    db.transaction(() => {
      for (const s of spec.samples ?? []) {
        const id = idOf(s.domain);
        const local = zone === 'UTC' ? dayjs.utc(s.unixtime * 1000) : dayjs(s.unixtime * 1000).tz(zone);
        upsert['5min'].run(id, s.protocol, s.unixtime - (s.unixtime % 300), s.bytes);
        upsert.hourly.run(id, s.protocol, local.startOf('hour').unix(), s.bytes);
        upsert.daily.run(id, s.protocol, midnightOf(local.format('YYYY-MM-DD'), zone), s.bytes);
      }
      for (const r of spec.rows ?? []) insert[r.interval].run(idOf(r.domain, r.domainId), r.protocol, r.unixtime, r.bytes);
    })();
  } finally {
    db.close();
  }
}

/** Times of day (seconds after local midnight) at which the sample traffic of a day is measured. */
const SAMPLE_TIMES = [1 * 3600 + 5 * 60, 9 * 3600 + 40 * 60, 18 * 3600 + 55 * 60];

/** Split daily totals into cPanel samples: three per (day, protocol), none for 0 (cPanel stores no zeros). */
export function samplesOfAccount(account: CpanelSampleAccount, zone = 'UTC'): BandwidthSample[] {
  const out: BandwidthSample[] = [];
  for (const [day, protocols] of Object.entries(account.days)) {
    const midnight = midnightOf(day, zone);
    for (const [protocol, total] of Object.entries(protocols)) {
      if (!total) continue;
      const part = Math.floor(total / 3);
      const parts = [part, part, total - 2 * part];
      parts.forEach((bytes, i) => {
        if (bytes > 0) {
          out.push({ domain: protocol === 'http' ? account.domain : 'UNKNOWN', protocol, unixtime: midnight + SAMPLE_TIMES[i]!, bytes });
        }
      });
    }
  }
  return out;
}

/** A cpuser file (/var/cpanel/users/<user>) with the lines the readers use. */
export function cpuserFileText(user: string, domain: string): string {
  return [
    '# cPanel -- If you edit this file directly you must run /usr/local/cpanel/scripts/updateuserdomains afterwards',
    'BWLIMIT=unlimited',
    `CONTACTEMAIL=${user}@${domain}`,
    `DNS=${domain}`,
    'FEATURELIST=default',
    'IP=192.0.2.10',
    'LOCALE=en',
    'MAXPOP=unlimited',
    'OWNER=root',
    'PLAN=default',
    'STARTDATE=1767225600',
    `USER=${user}`,
    '',
  ].join('\n');
}

/**
 * Write the pkgacct bandwidth dump of a database into `dir`: `bandwidth_db.json` (manifest) and
 * `bandwidth_db_data.json` (one JSON array of rows per line, every interval), §5.3.
 */
export async function writeBackupDump(dbFile: string, dir: string, opts: { lineBytes?: number } = {}): Promise<void> {
  const lineBytes = opts.lineBytes ?? 2 * 1024 * 1024;
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const manifest = {
      version: (db.prepare('SELECT version FROM version').pluck().get() as number),
      metadata: Object.fromEntries((db.prepare('SELECT key, value FROM metadata').all() as { key: string; value: string }[]).map((r) => [r.key, r.value])),
      tables: Object.fromEntries(INTERVALS.map((i) => [`bandwidth_${i}`, 1])),
      domains: Object.fromEntries((db.prepare('SELECT name, id FROM domains').all() as { name: string; id: number }[]).map((r) => [r.name, r.id])),
    };
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'bandwidth_db.json'), JSON.stringify(manifest));
    const out = createWriteStream(join(dir, 'bandwidth_db_data.json'));
    let buffer: string[] = [];
    let size = 0;
    const flush = async () => {
      if (buffer.length === 0) return;
      if (!out.write(`[${buffer.join(',')}]\n`)) await once(out, 'drain');
      buffer = [];
      size = 0;
    };
    for (const interval of INTERVALS) {
      const rows = db.prepare(`SELECT json_object('domain_id', domain_id, 'protocol', protocol, 'unixtime', unixtime, 'bytes', bytes, 'interval', ?) FROM bandwidth_${interval}`).pluck();
      for (const json of rows.iterate(interval) as Iterable<string>) {
        buffer.push(json);
        size += json.length + 1;
        if (size >= lineBytes) await flush();
      }
    }
    await flush();
    out.end();
    await once(out, 'close');
  } finally {
    db.close();
  }
}

/** Lines of a pre-2015 daily flat file (`M.D.YYYY-protocol=bytes`, §5.2), with the `-all` summaries. */
export function legacyDailyLines(days: CpanelSampleAccount['days'], protocols: readonly CpanelProtocol[]): string[] {
  const lines: string[] = [];
  for (const [day, values] of Object.entries(days)) {
    const [y, m, d] = day.split('-').map(Number);
    const stamp = `${m}.${d}.${y}`;
    let all = 0;
    for (const p of protocols) {
      const v = values[p];
      if (!v) continue;
      lines.push(`${stamp}-${p}=${v}`);
      all += v;
    }
    if (all > 0) lines.push(`${stamp}-all=${all}`);
  }
  return lines;
}

/** Every cPanel sample under `root` (samples/cpanel): sqlite/, users/, backup/, legacy/. */
export async function writeCpanelSamples(root: string): Promise<void> {
  const sqliteDir = join(root, 'sqlite');
  const usersDir = join(root, 'users');
  const backupDir = join(root, 'backup');
  const legacyDir = join(root, 'legacy');
  for (const d of [sqliteDir, usersDir, backupDir, legacyDir]) await mkdir(d, { recursive: true });

  for (const account of SAMPLE_ACCOUNTS) {
    const db = join(sqliteDir, `${account.user}.sqlite`);
    await writeSampleBandwidthDb(db, { domains: [account.domain], samples: samplesOfAccount(account) });
    await writeFile(join(usersDir, account.user), cpuserFileText(account.user, account.domain));

    // Legacy: mail (and a duplicate of http) in the user datastore; http, plus the pre-2010 duplicate
    // of mail, in the main-domain datastore (§5.2). Only the user file's mail is read.
    const userLines = legacyDailyLines(account.days, ['http', 'ftp', 'imap', 'pop3', 'smtp']);
    await writeFile(join(legacyDir, account.user), `${userLines.join('\n')}\n`);
    await writeFile(join(legacyDir, `${account.domain}`), `${legacyDailyLines(account.days, ['http', 'smtp', 'pop3', 'imap']).join('\n')}\n`);
    const hourLines = Object.entries(account.days).flatMap(([day, v]) => {
      const [y, m, d] = day.split('-').map(Number);
      return (['smtp', 'pop3', 'imap'] as const).filter((p) => v[p]).map((p) => `${y}.${m}.${d}.12-${p}=${v[p]}`);
    });
    await writeFile(join(legacyDir, `${account.user}.hour`), `${hourLines.join('\n')}\n`);
  }

  // A cpmove archive of alice: cp/<user>, the bandwidth dump (small lines, so there are several).
  const alice = SAMPLE_ACCOUNTS[0]!;
  const cpmove = join(backupDir, `cpmove-${alice.user}`);
  await rm(cpmove, { recursive: true, force: true });
  await mkdir(join(cpmove, 'cp'), { recursive: true });
  await writeFile(join(cpmove, 'cp', alice.user), cpuserFileText(alice.user, alice.domain));
  await writeBackupDump(join(sqliteDir, `${alice.user}.sqlite`), cpmove, { lineBytes: 1024 });
  await writeCpmoveArchive(backupDir, `cpmove-${alice.user}`, join(backupDir, `cpmove-${alice.user}.tar.gz`));
}

/** tar.gz of `dir/name` (entries `name/...`), reproducible (fixed mtime, portable headers). */
export async function writeCpmoveArchive(dir: string, name: string, file: string): Promise<void> {
  await tar.c({ gzip: { level: 9 }, file, cwd: dir, portable: true, mtime: new Date('2026-11-04T00:00:00Z') }, [name]);
}
