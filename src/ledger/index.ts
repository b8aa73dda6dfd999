// The ledger: traffic-import's own state, one per Plesk panel, under `state.path` (default ./state/).
// Keyed by the panel (its canonical URL) and never by the pipeline file: what was applied is a fact about the
// panel, so renaming or moving an additive pipeline, or a second pipeline over the same input, can never apply a
// slice twice (issue 9 §7, docs/ledger.md). Runs of every pipeline on the panel are recorded in it by name.
//
// Plesk stays the source of truth for traffic values. The ledger only holds what Plesk cannot tell us:
//   1. applied slices (additive mode): "slice S was added to node (operator, dom_id, date)", so the same
//      input is never added twice;
//   2. write-ahead intents: before a packet is sent, its nodes' before/after values are fsynced; a commit
//      (Plesk said ok) or abort (error) closes them. A run killed between Plesk's answer and the commit leaves
//      them open, and the next run settles each one against what Plesk then holds — never double counting;
//   3. run records: id, pipeline, window, mode, counts, final status (for `traffic-import runs`);
//   4. a lock (a lease renewed by a heartbeat), so a second run against the panel is refused while one is
//      active, and a dead run's lock is taken over (src/ledger/lock.ts).
//
// Storage: an append-only JSONL journal per panel, `<state>/<ledgerId>.jsonl`, every append fsynced. A journal of
// the former layout (one per pipeline file, version 1) is folded in the first time its pipeline runs.
// Why a journal rather than SQLite (better-sqlite3 is installed):
//   - crash safety is easy to see: a record is one line written by one write() and fsynced before the caller
//     goes on; a kill mid-write can only tear the LAST line, which replay cuts off. A bad line anywhere else is
//     real corruption and is reported with its file and line (TI_STATE), never skipped silently;
//   - no native module: better-sqlite3 needs a prebuilt binary matching the Node ABI and platform, or a C
//     toolchain — a real risk on the panels this runs on; the journal needs nothing but node:fs;
//   - no server, nothing to migrate, and an operator can read it with `tail`/`jq` when asking "what happened";
//   - the access pattern fits: replay once at start (memory grows with applied (slice, node) keys, which SQLite
//     would avoid but which are small), then appends only. Cost is one fsync per packet (a packet's intents
//     are one line, its commit another), comparable to a SQLite transaction commit.
// What SQLite would add — indexed lookups without replaying, and fcntl locks that the kernel drops on SIGKILL —
// does not outweigh that: replay is fast, and fcntl locks are unreliable on NFS state directories, where the
// lease here works the same.
// The journal is compacted (rewritten to its live content: temp file, fsync, rename, fsync dir) when it grows
// past `compactAtBytes` (64 MiB), at lock time so no other writer is active.
//
// Journal format (one JSON object per line, `t` first; bigints as decimal strings):
//   {"t":"header","v":2,"panel":"https://plesk.example.com:8443/enterprise/control/agent.php","ledgerId":"…","createdAt":"…"}
//   {"t":"run","id":"20260123T104512Z-3fa9c1","pipeline":"<name>","pipelineFile":"/abs/p.json","startedAt":"…","window":{…},"mode":"additive",
//    "dryRun":false,"pid":123,"host":"…","procStart":"…","lock":"<lock token>"}
//   {"t":"finish","id":"…","status":"ok","finishedAt":"…","counts":{…}}
//   {"t":"intent","run":"…","at":"…","intents":[{"slice":"…","operator":"webspace","domId":1,"date":"2026-01-02",
//    "before":{"smtp_in":"0",…},"after":{"smtp_in":"1024",…}}, …]}          ← one line per packet
//   {"t":"commit","at":"…","nodes":[["<slice>","webspace",1,"2026-01-02"], …]}  ← one line per packet
//   {"t":"abort","at":"…","nodes":[…]}
//
// Key space: isApplied/commit work on (slice, operator, dom_id, date). Memory grows with those keys; callers
// that do not need isApplied should not commit per-run slices.

export {
  Ledger, listRunsInDir, ledgerIdOf, pipelineIdOf, ledgerConfigSchema,
  DEFAULT_COMPACT_AT_BYTES, DEFAULT_KEEP_RUNS,
  type LedgerConfig, type LedgerOptions, type RunStart,
} from './ledger.js';
export {
  JOURNAL_VERSION,
  type Intent, type OpenIntent, type NodeRef, type RunInfo, type RunStatus, type MailCounters,
} from './journal.js';
export { DEFAULT_LEASE_MS, type LockOwner } from './lock.js';
