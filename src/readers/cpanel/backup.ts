// `from: "backup"`: the bandwidth dump inside a cpmove/pkgacct archive, or its extracted directory
// (docs/reference/cpanel-bandwidth.md §5.3; written by CP:Cpanel/Pkgacct/Components/Bandwidth.pm into the
// archive's top directory):
//   bandwidth_db.json       manifest {"version":3, "metadata":{…}, "tables":{…}, "domains":{"UNKNOWN":1, …}}
//   bandwidth_db_data.json  one JSON array of rows per line, rows of all three intervals:
//                           {"domain_id":1,"protocol":"smtp","unixtime":…,"bytes":…,"interval":"daily"}
//   cp/<user>               the cpuser file: its DNS= line is the account's main domain
// The archive is streamed with the `tar` package (never extracted, never held in memory); rows are
// summed per (domain_id, day) as they come, because the manifest may come after the data.
// Only the `interval` asked for is read (daily by default): the others repeat the same bytes.

import { createReadStream } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { TiError, errorMessage } from '../../errors.js';
import type { Rejection, Reader, ReaderContext } from '../types.js';
import type { SourceRecord } from '../../model.js';
import type { CpanelBackupSource } from './config.js';
import { cpuserTextDomain, emitAccount, loadAccountMap, pickMainDomain } from './accounts.js';
import {
  AccountTally, CPANEL_METRICS, DayMapper, IgnoredCounter, mailMetricOf, parseBytes, rawText, unixSecondsOf, type CpanelMetric,
} from './tally.js';

const MANIFEST = 'bandwidth_db.json';
const DATA = 'bandwidth_db_data.json';
const INTERVALS = new Set(['5min', 'hourly', 'daily']);
/** Small files (manifest, cpuser) are read whole; anything larger is not what we think it is. */
const MAX_SMALL_FILE = 16 * 1024 * 1024;
/** cPanel's invariant when no manifest says otherwise (comment in `_restore_backup_v3`, Write.pm). */
const UNKNOWN_ID_DEFAULT = 1;

/** The account named by an archive or directory name: cpmove-<user>, or backup-<date>_<time>_<user>. */
export function userFromArchiveName(path: string): string | undefined {
  const name = basename(path).replace(/\.(tar\.gz|tgz|tar)$/i, '');
  const cpmove = /^cpmove-(.+)$/.exec(name);
  if (cpmove) return cpmove[1];
  const backup = /^backup-[\d.]+_[\d-]+_(.+)$/.exec(name);
  if (backup) return backup[1];
  return undefined;
}

/** Where an entry of the archive/dump is, relative to its top directory (which may be absent). */
function classify(rel: string): { kind: 'manifest' } | { kind: 'data' } | { kind: 'cp'; user: string } | undefined {
  const p = rel.replace(/^\.\//, '');
  const m = /^(?:[^/]+\/)?(bandwidth_db\.json|bandwidth_db_data\.json|cp\/([^/]+))$/.exec(p);
  if (!m) return undefined;
  if (m[1] === MANIFEST) return { kind: 'manifest' };
  if (m[1] === DATA) return { kind: 'data' };
  return { kind: 'cp', user: m[2]! };
}

/** Everything gathered from one dump; `finish` turns it into records. */
class DumpState {
  manifest: { label: string; unknownIds: Set<number>; version: unknown } | undefined;
  readonly cpFiles = new Map<string, { label: string; text: string }>();
  dataLabel: string | undefined;
  /** Days seen in rows of the chosen interval, any domain and protocol. */
  readonly days = new AccountTally();
  /** Mail sums per domain_id (UNKNOWN is known only once the manifest is read). */
  readonly mail = new Map<number, AccountTally>();
  readonly mailRows = new Map<number, number>();
  offMidnight = 0;
  error: unknown;

  constructor(
    readonly cfg: CpanelBackupSource,
    readonly ctx: ReaderContext,
    readonly log: ReaderContext['log'],
    readonly mapper: DayMapper,
    readonly ignored: IgnoredCounter,
  ) {}

  reject(r: Rejection): void {
    this.ctx.reject(r);
  }

  setManifest(text: string, label: string): void {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      this.reject({ file: label, line: 0, code: 'R_PARSE', reason: `manifest is not JSON (${errorMessage(err)}); assuming UNKNOWN is domain id ${UNKNOWN_ID_DEFAULT}` });
      return;
    }
    const domains = (doc as { domains?: unknown })?.domains;
    if (typeof domains !== 'object' || domains === null) {
      this.reject({ file: label, line: 0, column: 'domains', code: 'R_PARSE', reason: `manifest has no "domains" map; assuming UNKNOWN is domain id ${UNKNOWN_ID_DEFAULT}` });
      return;
    }
    const unknownIds = new Set<number>();
    const id = (domains as Record<string, unknown>).UNKNOWN;
    if (id !== undefined && Number.isInteger(Number(id))) unknownIds.add(Number(id));
    this.manifest = { label, unknownIds, version: (doc as { version?: unknown }).version };
  }

  /** One line of bandwidth_db_data.json: a JSON array of rows. */
  line(text: string, line: number, label: string): void {
    if (text.trim() === '') return;
    let rows: unknown;
    try {
      rows = JSON.parse(text);
    } catch (err) {
      this.reject({ file: label, line, code: 'R_PARSE', reason: `line is not JSON (${errorMessage(err)})`, raw: text.slice(0, 200) });
      return;
    }
    if (!Array.isArray(rows)) {
      this.reject({ file: label, line, code: 'R_PARSE', reason: 'line is not a JSON array of rows', raw: text.slice(0, 200) });
      return;
    }
    rows.forEach((row, i) => this.row(row, `[${i}]`, line, label));
  }

  private row(row: unknown, at: string, line: number, label: string): void {
    const bad = (column: string, code: Rejection['code'], reason: string, raw: unknown) =>
      this.reject({ file: label, line, column: `${at}.${column}`, code, reason, raw: rawText(raw) });
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      this.reject({ file: label, line, column: at, code: 'R_PARSE', reason: 'row is not an object', raw: rawText(row) });
      return;
    }
    const r = row as Record<string, unknown>;
    if (typeof r.interval !== 'string' || !INTERVALS.has(r.interval)) {
      bad('interval', 'R_PARSE', `interval ${rawText(r.interval)} is not 5min, hourly or daily`, r.interval);
      return;
    }
    if (r.interval !== this.cfg.interval) return; // exactly one interval: the others hold the same bytes
    const unixtime = unixSecondsOf(r.unixtime);
    if (unixtime === undefined) {
      bad('unixtime', 'R_BAD_DATE', `unixtime ${rawText(r.unixtime)} is not a valid timestamp`, r.unixtime);
      return;
    }
    const day = this.mapper.day(unixtime);
    if (this.cfg.interval === 'daily' && !this.mapper.isMidnight(unixtime)) this.offMidnight++;
    this.days.touch(day, line);
    const domainId = typeof r.domain_id === 'string' && /^\d+$/.test(r.domain_id) ? Number(r.domain_id) : r.domain_id;
    const validId = typeof domainId === 'number' && Number.isInteger(domainId);
    // A rejected value is held back for the day; under a named domain it is dropped at finish() like its rows,
    // under an id that cannot be read it may have been UNKNOWN's, so it holds the account's day.
    const tallyOf = (): AccountTally => (validId ? this.mailOf(domainId) : this.days);
    const held = (metrics: readonly CpanelMetric[], column: string, code: Rejection['code'], reason: string, raw: unknown) =>
      tallyOf().reject(this.ctx, day, metrics, { file: label, line, column: `${at}.${column}`, code, reason, raw: rawText(raw) }, line);
    if (typeof r.protocol !== 'string') {
      held(CPANEL_METRICS, 'protocol', 'R_PARSE', `protocol ${rawText(r.protocol)} is not a string`, r.protocol);
      return;
    }
    const metric = mailMetricOf(r.protocol, this.ignored);
    if (metric === undefined) return;
    if (!validId) {
      held([metric], 'domain_id', 'R_PARSE', `domain_id ${rawText(r.domain_id)} is not an integer`, r.domain_id);
      return;
    }
    const parsed = parseBytes(r.bytes);
    if (!parsed.ok) {
      held([metric], 'bytes', parsed.code, `${r.protocol} on ${day}: ${parsed.reason}`, r.bytes);
      return;
    }
    this.mailOf(domainId).add(day, metric, parsed.scaled, line);
    this.mailRows.set(domainId, (this.mailRows.get(domainId) ?? 0) + 1);
  }

  private mailOf(domainId: number): AccountTally {
    let t = this.mail.get(domainId);
    if (!t) this.mail.set(domainId, (t = new AccountTally()));
    return t;
  }

  async finish(path: string, emit: (rec: SourceRecord) => void): Promise<void> {
    const { ctx, cfg, log } = this;
    if (this.dataLabel === undefined) {
      throw new TiError('TI_SOURCE_FORMAT', `${path} holds no ${DATA} (archives from before cPanel 11.50 hold flat files: extract bandwidth/ and use from: "legacy")`, { path });
    }
    const nameUser = userFromArchiveName(path);
    const cpUsers = [...this.cpFiles.keys()];
    let user: string | undefined;
    if (cpUsers.length === 1) user = cpUsers[0];
    else if (nameUser && (cpUsers.length === 0 || this.cpFiles.has(nameUser))) user = nameUser;
    if (!user) {
      throw new TiError('TI_SOURCE_FORMAT', `cannot tell which account ${path} belongs to (cp/ files: ${cpUsers.join(', ') || 'none'}; name: ${basename(path)})`, { path });
    }
    if (nameUser && nameUser !== user) log.warn({ path, user, nameUser }, 'cpanel: archive name and cp/<user> disagree; using cp/<user>');

    let unknownIds: Set<number>;
    if (this.manifest) {
      unknownIds = this.manifest.unknownIds;
      if (Number(this.manifest.version) !== 3) log.warn({ file: this.manifest.label, version: this.manifest.version }, 'cpanel: backup manifest version is not 3; reading it anyway');
    } else {
      unknownIds = new Set([UNKNOWN_ID_DEFAULT]);
      log.warn({ path }, `cpanel: no ${MANIFEST}; assuming UNKNOWN is domain id ${UNKNOWN_ID_DEFAULT}`);
    }
    const tally = new AccountTally();
    tally.merge(this.days);
    for (const [id, t] of this.mail) {
      if (unknownIds.has(id)) tally.merge(t);
      else this.ignored.add('cpanel: mail rows under a named domain (mail is read from UNKNOWN only)', this.mailRows.get(id) ?? 0);
    }
    if (this.offMidnight > 0) {
      log.warn({ file: this.dataLabel, rows: this.offMidnight, timezone: cfg.timezone }, 'cpanel: daily rows not at midnight in `timezone`: is it the zone of the cPanel server?');
    }
    const mapFile = cfg.accountMap ? resolve(ctx.baseDir, cfg.accountMap) : undefined;
    const accountMap = mapFile ? await loadAccountMap(mapFile, ctx) : undefined;
    const cp = this.cpFiles.get(user);
    const main = await pickMainDomain(user, accountMap, mapFile, () =>
      cp ? cpuserTextDomain(cp.text, cp.label) : { from: `no cp/${user} in ${path}` },
    );
    const n = emitAccount(ctx, emit, { user, main, tally, file: this.dataLabel });
    this.ignored.flush(ctx);
    log.debug({ user, domain: main.domain, days: tally.size, records: n }, 'cpanel: backup read');
  }
}

/** Feed every line of a stream to `onLine` (1-based numbers); resolves at the end of the stream. */
async function eachLine(input: NodeJS.ReadableStream, onLine: (text: string, line: number) => void): Promise<void> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  rl.on('line', (text) => onLine(text, ++n));
  await once(rl, 'close');
}

async function collect(input: NodeJS.ReadableStream, label: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_SMALL_FILE) throw new TiError('TI_SOURCE_FORMAT', `${label} is larger than ${MAX_SMALL_FILE} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** tar, loaded when an archive is read (every run loads the reader registry). */
const loadTar = (): Promise<typeof import('tar')> => import('tar');

async function readArchive(path: string, state: DumpState): Promise<void> {
  const tar = await loadTar();
  const pending: Promise<void>[] = [];
  const guard = (p: Promise<void>) => pending.push(p.catch((err) => void (state.error ??= err)));
  try {
    await tar.t({
      file: path,
      strict: true,
      maxReadSize: 256 * 1024,
      onReadEntry: (entry) => {
        if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') return;
        const what = classify(entry.path);
        if (!what) return;
        const label = `${path}:${entry.path.replace(/^\.\//, '')}`;
        // tar entries are Minipass streams: hand them to readline/for-await through a Node stream.
        const input = new PassThrough();
        entry.pipe(input);
        if (what.kind === 'data') {
          state.dataLabel = label;
          guard(eachLine(input, (text, line) => state.line(text, line, label)));
        } else if (what.kind === 'manifest') {
          guard(collect(input, label).then((text) => state.setManifest(text, label)));
        } else {
          const user = what.user;
          guard(collect(input, label).then((text) => void state.cpFiles.set(user, { label, text })));
        }
      },
    });
  } catch (err) {
    throw new TiError('TI_SOURCE_UNREADABLE', `cpmove archive ${path}: ${errorMessage(err)}`, { path }, { cause: err });
  }
  await Promise.all(pending);
  if (state.error) throw state.error instanceof TiError ? state.error : new TiError('TI_SOURCE_UNREADABLE', `cpmove archive ${path}: ${errorMessage(state.error)}`, { path }, { cause: state.error });
}

async function readDirectory(dir: string, state: DumpState): Promise<void> {
  const manifest = join(dir, MANIFEST);
  try {
    state.setManifest(await readFile(manifest, 'utf8'), manifest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new TiError('TI_SOURCE_UNREADABLE', `${manifest}: ${errorMessage(err)}`, { file: manifest }, { cause: err });
  }
  try {
    for (const user of await readdir(join(dir, 'cp'))) {
      const file = join(dir, 'cp', user);
      if ((await stat(file)).isFile()) state.cpFiles.set(user, { label: file, text: await readFile(file, 'utf8') });
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new TiError('TI_SOURCE_UNREADABLE', `${join(dir, 'cp')}: ${errorMessage(err)}`, { dir }, { cause: err });
  }
  const data = join(dir, DATA);
  let input;
  try {
    input = createReadStream(data);
    await once(input, 'open');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // finish() says what is missing
    throw new TiError('TI_SOURCE_UNREADABLE', `${data}: ${errorMessage(err)}`, { file: data }, { cause: err });
  }
  state.dataLabel = data;
  try {
    await eachLine(input, (text, line) => state.line(text, line, data));
  } catch (err) {
    throw new TiError('TI_SOURCE_UNREADABLE', `${data}: ${errorMessage(err)}`, { file: data }, { cause: err });
  }
}

export function createBackupReader(cfg: CpanelBackupSource): Reader {
  async function source(ctx: ReaderContext): Promise<{ path: string; isDir: boolean }> {
    const path = resolve(ctx.baseDir, cfg.path);
    try {
      return { path, isDir: (await stat(path)).isDirectory() };
    } catch (err) {
      throw new TiError('TI_SOURCE_UNREADABLE', `cPanel backup ${path}: ${errorMessage(err)}`, { path }, { cause: err });
    }
  }

  return {
    label: 'cpanel/backup',
    async read(ctx, emit) {
      const { path, isDir } = await source(ctx);
      const log = ctx.log.child({ reader: 'cpanel', from: 'backup' });
      log.info({ path, interval: cfg.interval, timezone: cfg.timezone }, 'cpanel: reading backup dump');
      const state = new DumpState(cfg, ctx, log, new DayMapper(cfg.timezone), new IgnoredCounter());
      if (isDir) await readDirectory(path, state);
      else await readArchive(path, state);
      await state.finish(path, emit);
    },

    async check(ctx) {
      const { path, isDir } = await source(ctx);
      let found = new Set<string>();
      if (isDir) {
        found = new Set((await readdir(path)).filter((n) => n === DATA || n === MANIFEST));
      } else {
        try {
          const tar = await loadTar();
          await tar.t({ file: path, strict: true, onReadEntry: (e) => { const w = classify(e.path); if (w && w.kind !== 'cp') found.add(w.kind === 'data' ? DATA : MANIFEST); } });
        } catch (err) {
          throw new TiError('TI_SOURCE_UNREADABLE', `cpmove archive ${path}: ${errorMessage(err)}`, { path }, { cause: err });
        }
      }
      if (!found.has(DATA)) throw new TiError('TI_SOURCE_FORMAT', `${path} holds no ${DATA}`, { path });
      return `cpmove dump ${path}: ${[...found].sort().join(', ')}`;
    },
  };
}
