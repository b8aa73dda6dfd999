// Faults the emulator injects, as a real panel shows them: slowness, 503s from the panel's nginx while
// Plesk restarts, connections that die before or after the packet ran, bodies that trickle, and
// per-object execution errors (docs/reference/plesk-api-notes.md §2.3, "real transient failures are mostly transport-level").

export interface Faults {
  /** Delay before the packet is processed (nothing applied yet while the client waits). */
  latencyMs?: number;
  /** Share (0..1) of requests answered HTTP 503 with an HTML body; nothing applied. */
  error5xxRate?: number;
  /** Share (0..1) of requests whose socket is destroyed without an answer. */
  dropRate?: number;
  /** Drop after the packet was applied (the client cannot know it ran) instead of before. */
  dropAfterApply?: boolean;
  /** Headers are sent at once, the body is trickled over this many milliseconds. */
  slowBodyMs?: number;
  /** dom_id → errcode answered in that object's result (set_traffic, get, get_traffic), e.g. 1013, 1023. */
  errorsById?: Record<string, number>;
  /** Seed of the PRNG that decides drops and 503s (same seed, same sequence of decisions). */
  seed?: number;
}

/** mulberry32: a small, fast, seedable PRNG with a full 2^32 period; plenty for fault dice. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decides per request; re-seeds when `faults.seed` changes at runtime. */
export class FaultDice {
  private seed: number | undefined;
  private next: () => number;

  constructor(private readonly faults: Faults) {
    this.seed = faults.seed;
    this.next = mulberry32(faults.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  /** Both dice are rolled for every request, so one rate does not shift the other's sequence. */
  roll(): { drop: boolean; error5xx: boolean } {
    if (this.faults.seed !== this.seed) {
      this.seed = this.faults.seed;
      this.next = mulberry32(this.faults.seed ?? Math.floor(Math.random() * 2 ** 32));
    }
    const d = this.next();
    const e = this.next();
    return { drop: d < (this.faults.dropRate ?? 0), error5xx: e < (this.faults.error5xxRate ?? 0) };
  }
}
