// Postfix → smtp_in, smtp_out (docs/sources/maillog.md §Postfix; the rules: docs/reference/maillog-accounting.md §2).
//
// State is per queue id in flight: size and sender (qmgr), origin (smtpd client= / pickup), the link to the message
// it is a copy of (a content-filter hop or a local(8) forward). A message is *settled* when its origin is final:
// at once for outside, authenticated and pickup mail; for mail from a trusted client (and mail whose origin line
// was not read) when its link is known, or one hour of log time after its `removed` line, or at the end of the
// stream. Deliveries of an unsettled message wait in it; settled messages are forgotten at `removed`.

import { BlockList, isIP } from 'node:net';
import type { RejectCode } from '../../errors.js';
import type { HoldCause } from '../../model.js';
import type { Moment } from './clock.js';
import { shiftClock, shiftDay } from './clock.js';
import { SMTP_IN, SMTP_OUT, type MetricIndex } from './tally.js';
import { QidTable } from './qid-table.js';
import { own } from './text.js';

/** How long a message from a trusted client waits for its filter link after `removed` (log time). */
export const SETTLE_AFTER_MS = 3_600_000;

export const IGNORED = {
  nullSender: 'maillog: deliveries of null-sender mail (bounces, DSNs)',
  noSize: 'maillog: deliveries without size (qmgr line not in the files read)',
  filterHop: 'maillog: filter hops (counted on the re-injected copy)',
  forwarded: 'maillog: local forwards (counted on the forwarded copy)',
  noOrigin: 'maillog: remote deliveries without origin (client/pickup line not in the files read)',
  otherAgent: 'maillog: deliveries by other agents (discard, error…)',
  notSent: 'maillog: delivery attempts not sent (deferred, bounced, expired)',
} as const;

/** Where counted bytes go, and how the accounting reports what it did not count. */
export interface PostfixSink {
  /** Bytes for the domain of `address`; the sink resolves the domain (ignored domains, invalid names). */
  count(day: string, address: string, metric: MetricIndex, bytes: number, file: string, line: number): void;
  /** A rejected line would have counted bytes here: the sum is held back (sent as missing, not partial). */
  hold(day: string, address: string, metric: MetricIndex, cause: HoldCause): void;
  ignore(reason: string, n?: number): void;
  reject(file: string, line: number, code: RejectCode, reason: string): void;
}

export interface PostfixOptions {
  /** Addresses / CIDR ranges whose unauthenticated mail is `local` (webmail, scripts). */
  trustedClients: readonly string[];
  /** `ADDR:PORT` / `[ADDR]:PORT` of content filters. */
  filterRelays: readonly string[];
  /** Transport (master.cf service) names of content filters. */
  filterTransports: readonly string[];
}

type Kind = 'outside' | 'auth' | 'local' | 'trusted' | 'unknown';
/** A settled message's origin: `none` when it was never known. */
type Origin = 'outside' | 'auth' | 'local' | 'none';

interface Delivery {
  local: boolean;
  to: string;
  origTo: string | undefined;
  size: number;
  day: string;
  file: string;
  line: number;
  /** The delivery's bytes were lost to a rejected line (its size line, or the delivery line itself). */
  lost?: HoldCause;
}

class Msg {
  size = -1;
  /** Qualified envelope sender of the qmgr line; '' = null sender; undefined until seen. */
  sender: string | undefined;
  kind: Kind = 'unknown';
  sasl: string | undefined;
  parent: Msg | undefined;
  children: Msg[] | undefined;
  settled = false;
  origin: Origin = 'none';
  /** The message whose sasl login / sender give the sender domain (itself, or the original of a copy). */
  root: Msg = this;
  pending: Delivery[] | undefined;
  /** Its `removed` line was read (or the stream ended): every delivery line it will have is known. */
  done = false;
  /** Filter hops that carried an `orig_to`: to → orig_to, so a copy's deliveries are attributed as this one's. */
  aliases: Map<string, string> | undefined;
  removedAt = -1;
  /** Its qmgr size line was rejected: its deliveries hold back what they would have counted. */
  sizeLost: HoldCause | undefined;
  constructor(readonly qid: string) {}
}

/** The Postfix lines the accounting reads (postfixKind). */
const NONE = 0;
const FROM = 1;
const REMOVED = 2;
const CLIENT = 3;
const PICKUP = 4;
const DELIVERY = 5;

/**
 * Which Postfix line this is for the accounting: NONE (no queue id, or nothing it reads: connect, cleanup's
 * message-id, warnings…), or one of FROM (qmgr from=), REMOVED, CLIENT (smtpd client=), PICKUP (uid= from=),
 * DELIVERY (to=<…>), packed with the index of that keyword: `(index << 3) | kind`; the queue id is
 * `text.slice(start, index - 2)`.
 */
export function postfixKind(program: string, text: string, start: number): number {
  // Queue id: short (hex, upper case) or long (enable_long_queue_ids: digits and consonants), then ': '.
  let i = start;
  let kinds = HEX | LONG;
  const end = Math.min(text.length, start + 25);
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 58) break;
    kinds &= c < 128 ? (ID_CHARS[c] as number) : 0;
    if (kinds === 0) return NONE;
  }
  const len = i - start;
  if (text.charCodeAt(i) !== 58 || text.charCodeAt(i + 1) !== 32 || !(((kinds & HEX) !== 0 && len >= 5) || ((kinds & LONG) !== 0 && len >= 10))) return NONE;
  const p = i + 2;
  switch (text.charCodeAt(p)) {
    case 102: // from=<…>, size=…
      return program.endsWith('qmgr') && text.startsWith('from=<', p) ? (p << 3) | FROM : NONE;
    case 114: // removed
      return text.startsWith('removed', p) && text.length - p <= 8 ? (p << 3) | REMOVED : NONE;
    case 99: // client=…
      return text.startsWith('client=', p) && program.endsWith('smtpd') ? (p << 3) | CLIENT : NONE;
    case 117: // uid=0 from=<root>
      return program.endsWith('/pickup') && text.startsWith('uid=', p) ? (p << 3) | PICKUP : NONE;
    case 116: // to=<…>, …, status=…
      return text.startsWith('to=<', p) ? (p << 3) | DELIVERY : NONE;
    default:
      return NONE;
  }
}

/** Delivery agents: local(8) itself, the other local ones (virtual, lmtp, pipe), smtp, anything else. */
const LOCAL = 0;
const LOCAL_OTHER = 1;
const REMOTE = 2;
const OTHER = 3;
type Agent = typeof LOCAL | typeof LOCAL_OTHER | typeof REMOTE | typeof OTHER;

/** The agent of a tag (`postfix/lmtp`, `postfix/relay/smtp`): its last component, compared in place. */
function agentOf(program: string): Agent {
  if (program.endsWith('/smtp')) return REMOTE;
  if (program.endsWith('/lmtp') || program.endsWith('/virtual') || program.endsWith('/pipe')) return LOCAL_OTHER;
  if (program.endsWith('/local')) return LOCAL;
  return OTHER;
}
const CHAIN_MAX = 16;

export class PostfixAccounting {
  /** Messages in flight (see qid-table.ts for why not a Map). */
  private readonly live = new QidTable<Msg>();
  /** Removed but not settled, in order of removal (≈ deadline order). */
  private readonly settling = new QidTable<Msg>(256);
  /** The same messages in order of removal (≈ deadline order); entries settled meanwhile are skipped. */
  private queue: Msg[] = [];
  private head = 0;
  /** When the oldest message in `settling` is due (Infinity when none). */
  private nextDeadline = Infinity;
  private readonly trusted = new BlockList();
  private readonly trustedCache = new Map<string, boolean>();
  /** relay= text → is it a content filter (a server has few relays). */
  private readonly hopCache = new Map<string, boolean>();
  private readonly filterRelays: Set<string>;
  private readonly filterTransports: Set<string>;
  /** Any Postfix line was seen: smtp metrics are 0 (not missing) where nothing was counted. */
  seen = false;
  /** For the run log: how filter copies were linked. */
  readonly stats = { linkedByQueuedAs: 0, linkedByOrigQueueId: 0, linkedByForward: 0, settledUnlinked: 0 };

  constructor(
    opts: PostfixOptions,
    private readonly sink: PostfixSink,
  ) {
    for (const c of opts.trustedClients) {
      const slash = c.indexOf('/');
      const addr = slash < 0 ? c : c.slice(0, slash);
      const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
      if (slash < 0) this.trusted.addAddress(addr, type);
      else this.trusted.addSubnet(addr, Number(c.slice(slash + 1)), type);
    }
    this.filterRelays = new Set(opts.filterRelays.map((r) => r.toLowerCase()));
    this.filterTransports = new Set(opts.filterTransports);
  }

  /** Messages held in memory (in flight + waiting to settle): the reader's memory, besides domain-days. */
  get inFlight(): number {
    return this.live.size + this.settling.size;
  }

  /**
   * One Postfix line: `program` is the syslog tag without pid (`postfix/qmgr`, `postfix/submission/smtpd`),
   * the message is `text` from `start`.
   */
  line(program: string, text: string, start: number, moment: Moment, file: string, lineNo: number): void {
    this.seen = true;
    const k = postfixKind(program, text, start);
    if (k === NONE) return;
    const p = k >>> 3;
    // Copied (own) only where it becomes a map key: a lookup needs no copy.
    const qid = text.slice(start, p - 2);
    switch (k & 7) {
      case FROM:
        return this.qmgr(qid, text, p, file, lineNo);
      case REMOVED:
        return this.removed(qid, moment);
      case CLIENT:
        return this.client(qid, text, p, file, lineNo);
      case PICKUP:
        return this.pickup(qid);
      case DELIVERY:
        return this.delivery(qid, program, agentOf(program), text, p, moment, file, lineNo);
    }
  }

  /** The log clock moved on: settle messages whose wait for a filter link is over. */
  tick(now: number): void {
    if (now < this.nextDeadline) return;
    this.nextDeadline = Infinity;
    const q = this.queue;
    while (this.head < q.length) {
      const m = q[this.head] as Msg;
      if (this.settling.get(m.qid) !== m) {
        this.head++; // settled by a link, or its queue id taken by a later message
        continue;
      }
      if (m.removedAt + SETTLE_AFTER_MS > now) {
        this.nextDeadline = m.removedAt + SETTLE_AFTER_MS;
        break;
      }
      this.head++;
      this.settling.delete(m.qid);
      if (m.settled) continue;
      // Waiting for the message it is a copy of: that one settles it.
      if (m.parent !== undefined && !(m.parent.settled && m.parent.done)) continue;
      this.settleOwn(m);
    }
    if (this.head > 1024 && this.head * 2 > q.length) {
      q.copyWithin(0, this.head);
      q.length -= this.head;
      this.head = 0;
    }
  }

  /** End of the stream: nothing more can link anything. */
  finish(): void {
    const all = [...this.live.values(), ...this.settling.values()];
    for (const m of all) m.done = true;
    for (const m of all) {
      if (m.settled) {
        this.release(m);
        continue;
      }
      let top = m;
      for (let n = 0; n < CHAIN_MAX && top.parent !== undefined && !top.parent.settled; n++) top = top.parent;
      if (top.parent !== undefined && top.parent.settled) this.settle(top, top.parent.origin, top.parent.root);
      else this.settleOwn(top);
      if (!m.settled) this.settleOwn(m);
    }
    this.live.clear();
    this.settling.clear();
    this.queue = [];
    this.head = 0;
  }

  /** Provisional years were wrong: move what waits. */
  shiftYears(years: number): void {
    this.nextDeadline = -Infinity;
    for (const map of [this.live.values(), this.settling.values()]) {
      for (const m of map) {
        if (m.removedAt >= 0) m.removedAt = shiftClock(m.removedAt, years);
        if (m.pending) for (const d of m.pending) d.day = shiftDay(d.day, years);
      }
    }
  }

  // ── lines ──

  private qmgr(qid: string, text: string, p: number, file: string, lineNo: number): void {
    const gt = text.indexOf('>', p + 6);
    if (gt < 0) return this.sink.reject(file, lineNo, 'R_PARSE', 'qmgr from= line is cut: no closing ">"');
    const sender = own(text.slice(p + 6, gt));
    if (text.startsWith(', size=', gt + 1)) {
      const at = gt + 8;
      let end = at;
      while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
      const next = text.charCodeAt(end);
      if (end === at || end - at > 15 || (end < text.length && next !== 44 && next !== 32)) {
        return this.sizeLost(qid, sender, file, lineNo, 'R_NOT_NUMERIC', `qmgr size= is not a number: ${JSON.stringify(text.slice(at, at + 20))}`);
      }
      if (end === text.length) return this.sizeLost(qid, sender, file, lineNo, 'R_PARSE', 'qmgr from= line is cut after size=');
      const m = this.get(qid);
      m.sender = sender;
      m.size = Number(text.slice(at, end));
      return;
    }
    // `from=<…>, status=expired, returned to sender` carries no size and changes nothing.
    if (text.startsWith(', status=', gt + 1)) return;
    this.sink.reject(file, lineNo, 'R_PARSE', 'qmgr from= line is cut: no size= after the sender');
  }

  /** A size line that cannot be read: rejected, and the message's deliveries hold back what they would count. */
  private sizeLost(qid: string, sender: string, file: string, lineNo: number, code: RejectCode, reason: string): void {
    this.sink.reject(file, lineNo, code, reason);
    const m = this.get(qid);
    if (m.size < 0) {
      m.sender = sender;
      m.sizeLost ??= { code, reason, file, line: lineNo };
    }
  }

  private client(qid: string, text: string, p: number, file: string, lineNo: number): void {
    // client=NAME[ADDR][, port=N][, orig_queue_id=Q][, orig_client=…][, sasl_method=M, sasl_username=U[, sasl_sender=S]]
    const open = text.indexOf('[', p);
    const close = open < 0 ? -1 : text.indexOf(']', open);
    if (close < 0) return this.sink.reject(file, lineNo, 'R_PARSE', 'smtpd client= line is cut: no [address]');
    const addr = text.slice(open + 1, close);
    const sasl = fieldValue(text, ', sasl_username=', close);
    const origQid = fieldValue(text, ', orig_queue_id=', close);
    let m = this.live.get(qid);
    if (m !== undefined && (m.kind !== 'unknown' || m.size >= 0)) {
      // The queue id is reused while an earlier message under it was never removed (its removed line is not in
      // the files): that one is over.
      this.live.delete(qid);
      this.over(m);
      m = undefined;
    }
    if (m === undefined) {
      m = new Msg(own(qid));
      this.live.set(m.qid, m);
    }
    if (sasl !== undefined && sasl !== '') {
      m.kind = 'auth';
      m.sasl = own(sasl);
    } else {
      m.kind = this.isTrusted(addr) ? 'trusted' : 'outside';
    }
    if (origQid !== undefined) {
      const parent = this.live.get(origQid) ?? this.settling.get(origQid);
      if (parent !== undefined && this.link(m, parent)) {
        this.stats.linkedByOrigQueueId++;
        return;
      }
    }
    if (m.kind !== 'trusted') this.settle(m, m.kind === 'auth' ? 'auth' : 'outside', m);
  }

  private pickup(qid: string): void {
    const m = this.get(qid);
    m.kind = 'local';
    if (!m.settled && m.parent === undefined) this.settle(m, 'local', m);
  }

  private removed(qid: string, moment: Moment): void {
    const m = this.live.get(qid);
    if (m === undefined) return;
    this.live.delete(qid);
    m.done = true;
    if (m.settled) {
      this.release(m);
      return;
    }
    // Null-sender mail counts nothing whatever its origin: no need to wait for a link.
    if (m.sender === '') {
      this.settleOwn(m);
      return;
    }
    m.removedAt = moment.clock;
    const earlier = this.settling.get(qid);
    if (earlier !== undefined) {
      // Queue id reused within the hour: the earlier message cannot be told apart from this one any more.
      this.settling.delete(qid);
      this.over(earlier);
    }
    this.settling.set(m.qid, m);
    this.queue.push(m);
    const due = m.removedAt + SETTLE_AFTER_MS;
    if (due < this.nextDeadline) this.nextDeadline = due;
  }

  private delivery(qid: string, program: string, agent: Agent, text: string, p: number, moment: Moment, file: string, lineNo: number): void {
    const st = text.indexOf(', status=', p);
    // Every delivery line ends with status=…: without it the line is cut, and may have been a `sent` one: what it
    // would have counted is held back (when the message and the recipient are known).
    if (st < 0) {
      const reason = 'delivery line is cut: no status=';
      this.sink.reject(file, lineNo, 'R_PARSE', reason);
      const m = this.live.get(qid);
      const toEnd = text.indexOf('>', p + 4);
      if (m !== undefined && toEnd > 0 && agent !== OTHER && m.sender !== '' && m.sender !== undefined) {
        const local = agent !== REMOTE;
        const d: Delivery = { local, to: text.slice(p + 4, toEnd), origTo: undefined, size: 0, day: moment.day, file, line: lineNo, lost: { code: 'R_PARSE', reason, file, line: lineNo } };
        if (m.settled) this.apply(m, d);
        else this.wait(m, d);
      }
      return;
    }
    if (!text.startsWith('sent', st + 9)) {
      this.sink.ignore(IGNORED.notSent);
      return;
    }
    const toEnd = text.indexOf('>', p + 4);
    const relayAt = text.indexOf(', relay=', p);
    if (toEnd < 0 || toEnd > st || relayAt < 0 || relayAt > st) {
      return this.sink.reject(file, lineNo, 'R_PARSE', 'status=sent line without to=<…> and relay=');
    }
    const to = text.slice(p + 4, toEnd);
    let origTo: string | undefined;
    if (text.startsWith(', orig_to=<', toEnd + 1)) {
      const end = text.indexOf('>', toEnd + 12);
      if (end > 0 && end < st) origTo = text.slice(toEnd + 12, end);
    }
    const relayEnd = text.indexOf(',', relayAt + 8);
    const relay = text.slice(relayAt + 8, relayEnd < 0 || relayEnd > st ? st : relayEnd);
    const m = this.live.get(qid);

    if (this.isFilterHop(program, relay)) {
      this.sink.ignore(IGNORED.filterHop);
      // The copy is re-injected for the expanded recipient: remember the alias (a forwarder) it was for.
      if (m !== undefined && origTo !== undefined && origTo !== to && origTo.includes('@')) (m.aliases ??= new Map()).set(own(to), own(origTo));
      // The last "queued as Q2" of the reply names the copy (earlier ones may be the filter's own text).
      const q = text.lastIndexOf('queued as ');
      if (q > st && m !== undefined) {
        const copyId = queueIdAt(text, q + 10);
        const copy = copyId === undefined ? undefined : (this.live.get(copyId) ?? this.settling.get(copyId));
        if (copy !== undefined && copy !== m && !copy.settled && copy.parent === undefined && this.link(copy, m)) this.stats.linkedByQueuedAs++;
      }
      return;
    }
    if (agent === LOCAL) {
      const f = text.indexOf('(forwarded as ', st);
      if (f >= 0) {
        // local(8) re-queued the message for an alias or .forward: the new message is the delivery.
        this.sink.ignore(IGNORED.forwarded);
        const copyId = queueIdAt(text, f + 14);
        if (copyId !== undefined && m !== undefined) {
          const copy = this.get(copyId);
          if (copy !== m && !copy.settled && copy.parent === undefined && this.link(copy, m)) this.stats.linkedByForward++;
        }
        return;
      }
    }
    if (agent === OTHER) {
      this.sink.ignore(IGNORED.otherAgent);
      return;
    }
    const local = agent !== REMOTE;
    if (m === undefined || (m.size < 0 && m.sizeLost === undefined)) {
      this.sink.ignore(IGNORED.noSize);
      return;
    }
    if (m.sender === '') {
      this.sink.ignore(IGNORED.nullSender);
      return;
    }
    const d: Delivery = { local, to, origTo, size: m.size, day: moment.day, file, line: lineNo, ...(m.size < 0 ? { lost: m.sizeLost! } : {}) };
    if (m.settled) this.apply(m, d);
    else this.wait(m, d);
  }

  // ── settling ──

  /** A delivery of an unsettled message waits in it (its strings copied: they outlive the line). */
  private wait(m: Msg, d: Delivery): void {
    d.to = own(d.to);
    if (d.origTo !== undefined) d.origTo = own(d.origTo);
    (m.pending ??= []).push(d);
  }

  private get(qid: string): Msg {
    let m = this.live.get(qid);
    if (m === undefined) {
      m = new Msg(own(qid));
      this.live.set(m.qid, m);
    }
    return m;
  }

  /** `copy` is counted with the origin of `original`. False when that would make a loop. */
  private link(copy: Msg, original: Msg): boolean {
    for (let a: Msg | undefined = original, n = 0; a !== undefined; a = a.parent, n++) {
      if (a === copy || n > CHAIN_MAX) return false;
    }
    copy.parent = original;
    // The copy waits until the original is settled and removed: its later hop lines may still carry aliases.
    if (original.settled && original.done) this.settle(copy, original.origin, original.root);
    else (original.children ??= []).push(copy);
    return true;
  }

  /** A message that will get no more lines (its queue id is taken by a new one): settle it and its copies. */
  private over(m: Msg): void {
    m.done = true;
    if (m.settled) this.release(m);
    else this.settleOwn(m);
  }

  /** Settled without a link: a trusted client's mail is local; mail whose origin line was not read has none. */
  private settleOwn(m: Msg): void {
    if (m.settled) return;
    if (m.kind === 'trusted' || m.kind === 'unknown') this.stats.settledUnlinked++;
    const origin: Origin = m.kind === 'trusted' ? 'local' : m.kind === 'unknown' ? 'none' : m.kind;
    this.settle(m, origin, m);
  }

  private settle(m: Msg, origin: Origin, root: Msg): void {
    m.settled = true;
    m.origin = origin;
    m.root = root;
    if (m.removedAt >= 0 && this.settling.get(m.qid) === m) this.settling.delete(m.qid);
    const pending = m.pending;
    m.pending = undefined;
    if (pending) for (const d of pending) this.apply(m, d);
    if (m.done) this.release(m);
  }

  /** A settled, removed message: the copies waiting on it take its origin. */
  private release(m: Msg): void {
    const children = m.children;
    m.children = undefined;
    if (children) for (const c of children) if (!c.settled) this.settle(c, m.origin, m.root);
  }

  /** The recipient a delivery is attributed to: its orig_to when that has a domain (`orig_to=<root>` does not),
   *  else the alias the original's filter hop had for it, else to. */
  private recipient(m: Msg, d: Delivery): string {
    if (d.origTo !== undefined && d.origTo.includes('@')) return d.origTo;
    for (let a = m.parent, n = 0; a !== undefined && n < CHAIN_MAX; a = a.parent, n++) {
      const alias = a.aliases?.get(d.to);
      if (alias !== undefined) return alias;
    }
    return d.to;
  }

  /** Count one delivered recipient of a settled message (per recipient, as pflogsumm counts bytes delivered). */
  private apply(m: Msg, d: Delivery): void {
    const rcpt = this.recipient(m, d);
    if (d.local) this.add(d, rcpt, SMTP_IN);
    switch (m.origin) {
      case 'auth':
      case 'local': {
        const root = m.root;
        const sasl = root.sasl;
        const from = m.origin === 'auth' && sasl !== undefined && sasl.includes('@') ? sasl : (root.sender ?? m.sender ?? '');
        this.add(d, from, SMTP_OUT);
        return;
      }
      case 'outside':
        // Mail from outside that leaves again: a forwarder; the bytes go out for the forwarding address's domain.
        if (!d.local) this.add(d, rcpt, SMTP_OUT);
        return;
      case 'none':
        if (!d.local) this.sink.ignore(IGNORED.noOrigin);
    }
  }

  private add(d: Delivery, address: string, metric: MetricIndex): void {
    if (d.lost !== undefined) this.sink.hold(d.day, address, metric, d.lost);
    else this.sink.count(d.day, address, metric, d.size, d.file, d.line);
  }

  private isTrusted(addr: string): boolean {
    let t = this.trustedCache.get(addr);
    if (t === undefined) {
      const family = isIP(addr);
      t = family === 0 ? false : this.trusted.check(addr, family === 6 ? 'ipv6' : 'ipv4');
      if (this.trustedCache.size > 10_000) this.trustedCache.clear();
      this.trustedCache.set(own(addr), t);
    }
    return t;
  }

  /** `relay=NAME[ADDR]:PORT` compared as `ADDR:PORT` (`[ADDR]:PORT` for IPv6); a relay without an address is a
   *  transport name (pipe's `relay=filter`); so is a service name in the tag (`postfix/amavis/smtp`). */
  private isFilterHop(program: string, relay: string): boolean {
    let hop = this.hopCache.get(relay);
    if (hop === undefined) {
      hop = this.relayIsFilter(relay);
      if (this.hopCache.size > 10_000) this.hopCache.clear();
      this.hopCache.set(own(relay), hop);
    }
    if (hop) return true;
    if (this.filterTransports.size > 0) {
      const parts = program.split('/');
      for (let i = 1; i < parts.length - 1; i++) if (this.filterTransports.has(parts[i]!)) return true;
    }
    return false;
  }

  private relayIsFilter(relay: string): boolean {
    const open = relay.indexOf('[');
    if (open >= 0) {
      const close = relay.indexOf(']', open);
      if (close > open && relay.charCodeAt(close + 1) === 58) {
        const addr = relay.slice(open + 1, close);
        const port = relay.slice(close + 2);
        const key = addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
        if (this.filterRelays.has(key.toLowerCase())) return true;
      }
    } else if (this.filterTransports.has(relay)) {
      return true;
    }
    return false;
  }
}

/** Queue id characters: short ids are upper-case hex; long ids (`enable_long_queue_ids`) use digits and letters
 *  without vowels. Per ASCII code: which of the two it may belong to. */
const HEX = 1;
const LONG = 2;
const ID_CHARS = (() => {
  const t = new Uint8Array(128);
  for (let c = 48; c <= 57; c++) t[c] = HEX | LONG;
  for (let c = 65; c <= 90; c++) t[c] = (c <= 70 ? HEX : 0) | ('AEIOU'.includes(String.fromCharCode(c)) ? 0 : LONG);
  for (let c = 97; c <= 122; c++) t[c] = 'aeiou'.includes(String.fromCharCode(c)) ? 0 : LONG;
  return t;
})();

/** The queue id at `i` (up to a `)`, space, `,` or the end), or undefined when what is there is not one. */
function queueIdAt(text: string, i: number): string | undefined {
  let j = i;
  while (j < text.length) {
    const c = text.charCodeAt(j);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) break;
    j++;
  }
  return j - i >= 5 ? own(text.slice(i, j)) : undefined;
}

/** Value of `, name=value` after `from` (up to the next `,` or the end); undefined when absent. */
function fieldValue(text: string, key: string, from: number): string | undefined {
  const at = text.indexOf(key, from);
  if (at < 0) return undefined;
  const start = at + key.length;
  const end = text.indexOf(',', start);
  return text.slice(start, end < 0 ? text.length : end);
}
