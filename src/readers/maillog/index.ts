// Mail-server log reader (`source.type: "maillog"`): Postfix and Dovecot lines → one record per (domain, whole
// day) with smtp_in, smtp_out (Postfix) and pop3_imap_in, pop3_imap_out (Dovecot). The rules, the settings and
// the choices made where the rules leave a case open: docs/sources/maillog.md.
//
// The files are read as one stream, ordered by each file's first time stamp; state (messages in flight,
// domain-days) is kept across files. Memory: messages in flight and domain-days, never lines.

import type { Readable } from 'node:stream';
import path from 'node:path';
import { TiError, type RejectCode } from '../../errors.js';
import type { HoldCause, SourceRecord } from '../../model.js';
import { expandInputs, inputMtime, isPlainFile, openInput, type InputFile } from '../../input/files.js';
import { forEachLine, forEachLineOfFile, peekLines } from '../../input/lines.js';
import type { Reader, ReaderContext } from '../types.js';
import { StreamClock, shiftClock } from './clock.js';
import { maillogSourceSchema, type MaillogSourceConfig } from './config.js';
import { Domains, loadUserMap, type DomainOf } from './domains.js';
import { own } from './text.js';
import { DovecotAccounting, type DovecotSink } from './dovecot.js';
import { EnvelopeParser, stampOf, type Stamp } from './envelope.js';
import { PostfixAccounting, type PostfixSink } from './postfix.js';
import { DayTally, POP3_IMAP_IN, POP3_IMAP_OUT, type MetricIndex } from './tally.js';

export { maillogSourceSchema };
export type { MaillogSourceConfig };

export const MAILLOG_IGNORED = {
  otherPrograms: 'maillog: lines of other programs',
  noStamp: 'maillog: lines without a time stamp',
  ignoredDomain: 'maillog: bytes of ignoreDomains names',
  noDomain: 'maillog: addresses without a domain name',
  edgeDays: 'maillog: partial first/last days skipped',
  edgeRecords: 'maillog: domain-days on skipped partial days',
} as const;

const DAY_MS = 86_400_000;
const NO_DOMAIN: DomainOf = { kind: 'invalid', reason: 'no @ in the address' };
/** Lines looked at for a file's first time stamp (ordering) before the file is put last. */
const PEEK_LINES = 10_000;
const READ_CHUNK = 1 << 20;
const RAW_MAX = 2000;
/** Text that marks a line that would have counted: such a line without an envelope is rejected, not ignored. */
const COUNTABLE_RE = /status=sent|: from=<[^>]*>, size=|\bin=\d+ out=|\bbytes=\d+\/\d|retr=\d+\/\d/;

export function createMaillogReader(cfg: MaillogSourceConfig): Reader {
  return {
    label: 'maillog',
    read: async (ctx, emit) => new MaillogRun(cfg, ctx).read(emit),
    check: async (ctx) => new MaillogRun(cfg, ctx).check(),
  };
}

interface OrderedInput {
  input: InputFile;
  mtime: number | undefined;
  first: Stamp | undefined;
  /** Local wall clock of the first stamp (its year guessed from the file's mtime for classic stamps). */
  sortKey: number;
  /** Standard input, already opened to look at its first lines. */
  stream?: Readable;
}

class MaillogRun implements PostfixSink, DovecotSink {
  private readonly domains: Domains;
  private readonly userMap: Map<string, string> | undefined;
  private readonly tally = new DayTally();
  private readonly ignoredCounts = new Map<string, number>();
  private readonly addressCache = new Map<string, DomainOf>();
  private readonly zone: string;
  private file = '';
  private minClock = Infinity;
  private maxClock = -Infinity;
  private lastClock = NaN;
  /** Latest clock of a Postfix line (settling runs on it). */
  private postfixClock = -Infinity;
  private lines = 0;
  private maxInFlight = 0;

  constructor(
    private readonly cfg: MaillogSourceConfig,
    private readonly ctx: ReaderContext,
  ) {
    this.zone = cfg.timezone;
    this.domains = new Domains(cfg.ignoreDomains);
    this.userMap = cfg.userMap !== undefined ? loadUserMap(path.resolve(ctx.baseDir, cfg.userMap)) : undefined;
  }

  async check(): Promise<string> {
    const inputs = await this.order();
    const named = inputs.map((o) => `${o.input.name}${o.first ? '' : ' (no time stamp)'}`);
    for (const o of inputs) o.stream?.destroy();
    return `${inputs.length} input(s) in time order: ${named.join(', ')}; time zone ${this.zone}; ` +
      `year ${this.cfg.year ?? 'from the newest file\'s mtime'}; edges ${this.cfg.edges}`;
  }

  async read(emit: (rec: SourceRecord) => void): Promise<void> {
    const inputs = await this.order();
    const firstStamp = inputs[0]?.first;
    const clock = new StreamClock({
      zone: this.zone,
      ...(this.cfg.year !== undefined ? { year: this.cfg.year } : {}),
      provisionalYear: firstStamp ? new Date(inputs[0]!.sortKey).getUTCFullYear() : new Date().getUTCFullYear(),
    });
    const postfix = new PostfixAccounting(this.cfg, this);
    const dovecot = new DovecotAccounting(this);
    clock.onShift = (years) => {
      this.tally.shiftYears(years);
      postfix.shiftYears(years);
      if (Number.isFinite(this.minClock)) this.minClock = shiftClock(this.minClock, years);
      if (Number.isFinite(this.maxClock)) this.maxClock = shiftClock(this.maxClock, years);
      if (!Number.isNaN(this.lastClock)) this.lastClock = shiftClock(this.lastClock, years);
      if (Number.isFinite(this.postfixClock)) this.postfixClock = shiftClock(this.postfixClock, years);
    };
    const envelopes = new EnvelopeParser(clock);
    const seeTime = (now: number): void => {
      if (now !== this.lastClock) {
        if (now < this.minClock) this.minClock = now;
        if (now > this.maxClock) this.maxClock = now;
        this.lastClock = now;
      }
    };
    const onLine = (line: string, n: number): void => {
      this.lines++;
      const env = envelopes.parse(line);
      if (env === undefined) return this.noEnvelope(line, n, envelopes.failure);
      const now = env.moment.clock;
      seeTime(now);
      const program = env.program;
      if (program.startsWith('postfix')) {
        // Postfix's own clock settles its messages: a Dovecot file read after a Postfix file of the same days
        // must not make the Postfix messages' wait for a filter link look over.
        if (now > this.postfixClock) {
          this.postfixClock = now;
          postfix.tick(now);
          if (postfix.inFlight > this.maxInFlight) this.maxInFlight = postfix.inFlight;
        }
        postfix.line(program, env.text, env.start, env.moment, this.file, n);
      }
      else if (program.startsWith('dovecot')) dovecot.line(env.text, env.start, env.moment, this.file, n);
      else this.ignore(MAILLOG_IGNORED.otherPrograms);
    };
    for (const o of inputs) {
      this.file = o.input.name;
      const lineOpts = this.ctx.signal ? { signal: this.ctx.signal } : {};
      try {
        // A plain file is read in blocks (faster); gzip and standard input as streams.
        if (o.stream === undefined && o.input.path !== undefined && (await isPlainFile(o.input))) {
          await forEachLineOfFile(o.input.path, onLine, lineOpts);
        } else {
          await forEachLine(o.stream ?? (await openInput(o.input, this.ctx, { highWaterMark: READ_CHUNK })), onLine, lineOpts);
        }
      } catch (err) {
        if (err instanceof TiError || (err as Error)?.name === 'AbortError') throw err;
        throw new TiError('TI_SOURCE_UNREADABLE', `${o.input.name}: ${(err as Error).message}`, { file: o.input.name }, { cause: err });
      }
    }
    postfix.finish();
    const newest = inputs.reduce<number | undefined>((a, o) => (o.mtime === undefined ? a : Math.max(a ?? -Infinity, o.mtime)), undefined);
    const shifted = clock.finish(newest ?? Date.now());

    const firstDay = Number.isFinite(this.minClock) ? dayOfClock(this.minClock) : undefined;
    const lastDay = Number.isFinite(this.maxClock) ? dayOfClock(this.maxClock) : undefined;
    const result = this.tally.emit(
      { dropEdges: this.cfg.edges === 'drop', firstDay, lastDay, postfixSeen: postfix.seen, dovecotSeen: dovecot.seen },
      emit,
      (r) => this.ctx.reject(r),
    );
    // The partial days are counted whether or not anything was counted on them: the report says they were left out.
    const edgeDays = this.cfg.edges === 'drop' && firstDay !== undefined ? [...new Set([firstDay, lastDay])] : [];
    if (edgeDays.length > 0) this.ignore(MAILLOG_IGNORED.edgeDays, edgeDays.length);
    if (result.edgeRecords > 0) this.ignore(MAILLOG_IGNORED.edgeRecords, result.edgeRecords);
    for (const [what, n] of this.ignoredCounts) this.ctx.ignored(what, n);
    this.ctx.log.info(
      {
        files: inputs.map((o) => o.input.name),
        lines: this.lines,
        days: firstDay === undefined ? [] : [firstDay, lastDay],
        skippedEdgeDays: edgeDays,
        records: result.records,
        yearShift: shifted,
        maxMessagesInFlight: this.maxInFlight,
        filterLinks: postfix.stats,
      },
      'maillog read',
    );
  }

  // ── sinks ──

  count(day: string, address: string, metric: MetricIndex, bytes: number, file: string, line: number): void {
    const d = this.domainOfAddress(address);
    if (d.kind === 'domain') this.tally.add(day, d.name, metric, bytes, file, line);
    else this.ignore(d.kind === 'ignored' ? MAILLOG_IGNORED.ignoredDomain : MAILLOG_IGNORED.noDomain);
  }

  /** The domain of a mail address, cached by the whole address (a log repeats a few thousand of them). */
  private domainOfAddress(address: string): DomainOf {
    let d = this.addressCache.get(address);
    if (d === undefined) {
      const part = Domains.partOf(address);
      d = part === undefined ? NO_DOMAIN : this.domains.of(part);
      if (this.addressCache.size >= 50_000) this.addressCache.clear();
      this.addressCache.set(own(address), d);
    }
    return d;
  }

  hold(day: string, address: string, metric: MetricIndex, cause: HoldCause): void {
    const d = this.domainOfAddress(address);
    if (d.kind === 'domain') this.tally.hold(day, d.name, metric, cause);
  }

  holdSession(day: string, user: string, cause: HoldCause): void {
    const part = Domains.partOf(user) ?? (user.includes('@') ? undefined : (this.userMap?.get(user) ?? this.userMap?.get(user.toLowerCase())));
    const d = part === undefined ? undefined : this.domains.of(part);
    if (d?.kind !== 'domain') return;
    this.tally.hold(day, d.name, POP3_IMAP_IN, cause);
    this.tally.hold(day, d.name, POP3_IMAP_OUT, cause);
  }

  session(day: string, user: string, input: number | undefined, output: number, file: string, line: number, raw: string): void {
    let part = Domains.partOf(user);
    if (part === undefined) {
      part = user.includes('@') ? undefined : (this.userMap?.get(user) ?? this.userMap?.get(user.toLowerCase()));
      if (part === undefined) {
        return this.rejectRaw(file, line, 'R_UNATTRIBUTABLE', `Dovecot user ${JSON.stringify(user)} has no domain and is not in source.userMap`, raw);
      }
    }
    const d = this.domains.of(part);
    if (d.kind === 'ignored') return this.ignore(MAILLOG_IGNORED.ignoredDomain);
    if (d.kind === 'invalid') return this.rejectRaw(file, line, 'R_BAD_TARGET', `Dovecot user ${JSON.stringify(user)}: ${d.reason}`, raw);
    this.tally.session(day, d.name, input, output, file, line);
  }

  ignore(reason: string, n = 1): void {
    this.ignoredCounts.set(reason, (this.ignoredCounts.get(reason) ?? 0) + n);
  }

  reject(file: string, line: number, code: RejectCode, reason: string): void {
    this.ctx.reject({ file, line, code, reason });
  }

  private rejectRaw(file: string, line: number, code: RejectCode, reason: string, raw: string): void {
    this.ctx.reject({ file, line, code, reason, raw: raw.length > RAW_MAX ? raw.slice(0, RAW_MAX) : raw });
  }

  private noEnvelope(line: string, n: number, why: string): void {
    if (line.length === 0) return;
    if (COUNTABLE_RE.test(line)) {
      const code: RejectCode = why === 'bad journal entry' ? 'R_PARSE' : 'R_BAD_DATE';
      return this.rejectRaw(this.file, n, code, `a line that would count has ${why === 'bad journal entry' ? 'a journal entry that cannot be read' : `no usable time stamp (${why})`}`, line);
    }
    this.ignore(MAILLOG_IGNORED.noStamp);
  }

  // ── inputs ──

  /** The inputs in the order of their first time stamps (files without one last, in the order given). */
  private async order(): Promise<OrderedInput[]> {
    const files = await expandInputs(this.cfg.paths, this.ctx);
    const probeClock = new StreamClock({ zone: this.zone, provisionalYear: 2000 });
    const out: OrderedInput[] = [];
    for (const input of files) {
      const mtime = await inputMtime(input);
      let first: Stamp | undefined;
      const probe = (line: string): boolean => {
        first = stampOf(line);
        return first !== undefined;
      };
      let stream: Readable | undefined;
      if (input.path === undefined) {
        stream = await peekLines(await openInput(input, this.ctx), probe);
      } else {
        const head = await openInput(input, this.ctx);
        try {
          await forEachLine(head, (line, n) => !probe(line) && n < PEEK_LINES);
        } catch (err) {
          throw new TiError('TI_SOURCE_UNREADABLE', `${input.name}: ${(err as Error).message}`, { file: input.name }, { cause: err });
        }
      }
      const f = first as Stamp | undefined;
      out.push({ input, mtime, first: f, sortKey: f === undefined ? Infinity : sortKey(f, mtime ?? Date.now(), probeClock), ...(stream ? { stream } : {}) });
    }
    // Array.prototype.sort is stable: equal keys keep the order given.
    return out.sort((a, b) => (a.sortKey === b.sortKey ? 0 : a.sortKey < b.sortKey ? -1 : 1));
  }
}

/** Local wall clock of a first stamp; a classic one gets the latest year that does not put it after `refMs`. */
function sortKey(stamp: Stamp, refMs: number, clock: StreamClock): number {
  switch (stamp.kind) {
    case 'instant':
      return stamp.epochMs + clock.offsetMs(stamp.epochMs);
    case 'local':
      return Date.UTC(stamp.year, stamp.month - 1, stamp.day) + stamp.sec * 1000;
    case 'classic': {
      const ref = refMs + clock.offsetMs(refMs) + DAY_MS;
      const year = new Date(ref).getUTCFullYear();
      const t = Date.UTC(year, stamp.month - 1, stamp.day) + stamp.sec * 1000;
      return t <= ref ? t : Date.UTC(year - 1, stamp.month - 1, stamp.day) + stamp.sec * 1000;
    }
  }
}

function dayOfClock(clock: number): string {
  return new Date(clock).toISOString().slice(0, 10);
}

