// Messages in flight by queue id: an open-addressing table (linear probing, deletion by backward shift) in
// arrays that are reused for the whole run.
//
// Why not a Map: thousands of messages come and go every second, and a long-lived Map re-hashes into a new table
// every few hundred of those, allocated in V8's old generation (the Map itself lives there). That is garbage only
// a full collection frees, so the heap swung between 13 and 64 MB and the peak RSS depended on how long the run
// lasted (bench: 10M lines 1.4 × the RSS of 2M). This table allocates only when it grows.

export class QidTable<V> {
  private keys: (string | undefined)[];
  private vals: (V | undefined)[];
  private hashes: Int32Array;
  private mask: number;
  private count = 0;

  constructor(capacity = 1024) {
    const cap = 1 << Math.ceil(Math.log2(Math.max(16, capacity)));
    this.keys = new Array<string | undefined>(cap).fill(undefined);
    this.vals = new Array<V | undefined>(cap).fill(undefined);
    this.hashes = new Int32Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    const h = hashOf(key);
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const k = this.keys[i];
      if (k === undefined) return undefined;
      if (this.hashes[i] === h && k === key) return this.vals[i];
    }
  }

  set(key: string, value: V): void {
    const h = hashOf(key);
    let i = h & this.mask;
    for (; ; i = (i + 1) & this.mask) {
      const k = this.keys[i];
      if (k === undefined) break;
      if (this.hashes[i] === h && k === key) {
        this.vals[i] = value;
        return;
      }
    }
    this.keys[i] = key;
    this.vals[i] = value;
    this.hashes[i] = h;
    if (++this.count * 2 > this.mask) this.grow();
  }

  delete(key: string): boolean {
    const h = hashOf(key);
    let i = h & this.mask;
    for (; ; i = (i + 1) & this.mask) {
      const k = this.keys[i];
      if (k === undefined) return false;
      if (this.hashes[i] === h && k === key) break;
    }
    // Backward shift (Knuth, Algorithm R): later entries of the same probe run move up; no tombstones.
    const mask = this.mask;
    let hole = i;
    for (let j = (i + 1) & mask; this.keys[j] !== undefined; j = (j + 1) & mask) {
      const home = (this.hashes[j] as number) & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        this.keys[hole] = this.keys[j];
        this.vals[hole] = this.vals[j];
        this.hashes[hole] = this.hashes[j] as number;
        hole = j;
      }
    }
    this.keys[hole] = undefined;
    this.vals[hole] = undefined;
    this.count--;
    return true;
  }

  *values(): IterableIterator<V> {
    for (let i = 0; i <= this.mask; i++) if (this.keys[i] !== undefined) yield this.vals[i] as V;
  }

  clear(): void {
    this.keys.fill(undefined);
    this.vals.fill(undefined);
    this.count = 0;
  }

  private grow(): void {
    const keys = this.keys;
    const vals = this.vals;
    const cap = (this.mask + 1) * 2;
    this.keys = new Array<string | undefined>(cap).fill(undefined);
    this.vals = new Array<V | undefined>(cap).fill(undefined);
    this.hashes = new Int32Array(cap);
    this.mask = cap - 1;
    this.count = 0;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (k !== undefined) this.set(k, vals[i] as V);
    }
  }
}

/** FNV-1a over the characters: queue ids are short, and every line's id is a new string (no cached hash). */
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}
