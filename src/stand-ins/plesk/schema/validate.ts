// Validation of an element tree against a schema model (tree.ts), with libxml2's wording, since Plesk
// validates packets with libxml2 and answers 1014 with its message (docs/reference/plesk-api-notes.md §2.1:
// "Expected is one of ( attachment, forward, end_date )").
//
// Content models are matched as sets of reachable child positions, so nested groups with their own
// cardinalities, choices and `all` need no backtracking bookkeeping. Each particle's result at a position
// is memoized: a `(choice) [1..unbounded]` over a thousand `set_traffic` nodes stays linear.
// Errors are reported in document order: an element's content model first, then its children.
// Attributes are not checked: the trees show only `@` (any attribute) and omit declared ones such as
// `packet/@version`, so nothing could be refused with certainty.

import type { ElementDecl, Group, Particle, SchemaModel } from './tree.js';
import { isEmptyType, simpleCheck } from './simple-types.js';
import type { XmlElement } from './xml.js';

export interface ValidationOptions {
  /** Stop after this many violations (a batch of a thousand bad nodes needs not a thousand messages). */
  maxViolations?: number;
}

/** One violation: libxml2's message and the line of the element it names (1 when unknown). */
export interface Violation {
  line: number;
  message: string;
}

/** libxml2 lists at most this many names after "Expected is one of" (the BoxBilling thread shows ten). */
export const MAX_EXPECTED_NAMES = 10;

/** Violations of `root` against the model's global declarations, in document order; empty = valid. */
export function validateDocument(model: SchemaModel, root: XmlElement, opts: ValidationOptions = {}): string[] {
  return validateWithLines(model, root, opts).map((v) => v.message);
}

/** As validateDocument, with the line of each violation (what Plesk's "Error in line N" reports). */
export function validateWithLines(model: SchemaModel, root: XmlElement, opts: ValidationOptions = {}): Violation[] {
  const out: Violation[] = [];
  const max = opts.maxViolations ?? 50;
  const decl = model.roots.get(root.name);
  if (!decl) {
    out.push({ line: root.line ?? 1, message: `Element '${root.name}': No matching global declaration available for the validation root.` });
    return out;
  }
  validateElement(decl, root, out, max);
  return out;
}

/**
 * Blank text between elements. XML whitespace, plus U+00A0: the docs' samples (seeds 000, 001) indent
 * with no-break spaces copied from HTML, which libxml2 would refuse as character content. Tolerated
 * here, between elements only, so the documented packets run verbatim; no XML library emits it.
 */
function isBlank(s: string): boolean {
  return /^[ \t\r\n\u00a0]*$/.test(s);
}

function validateElement(decl: ElementDecl, el: XmlElement, out: Violation[], max: number): void {
  if (out.length >= max) return;
  const line = el.line ?? 1;
  const report = (message: string): void => {
    out.push({ line, message });
  };
  const content = decl.content;
  if (content === null) {
    if (isEmptyType(decl.type)) {
      if (el.children.length > 0) report(`Element '${el.name}': Element content is not allowed, because the content type is empty.`);
      else if (!isBlank(el.text)) report(`Element '${el.name}': Character content is not allowed, because the content type is empty.`);
      return;
    }
    if (el.children.length > 0) {
      report(`Element '${el.name}': Element content is not allowed, because the content type is a simple type.`);
      return;
    }
    const check = simpleCheck(decl.type);
    if (check && !check.valid(el.text)) {
      report(`Element '${el.name}': '${el.text}' is not a valid value of the atomic type '${check.label}'.`);
    }
    return;
  }
  const compiled = compiledOf(content);
  // anyType (a wildcard sequence) has mixed content; its children match `<>` and are not validated further.
  if (!compiled.wildcardOnly && el.text !== '' && !isBlank(el.text)) {
    report(`Element '${el.name}': Character content other than whitespace is not allowed because the content type is 'element-only'.`);
    return;
  }
  const assigned = (compiled.runs && matchRuns(compiled.runs, el.children)) ?? matchContent(content, el, out);
  if (assigned === null) return;
  for (let i = 0; i < el.children.length; i++) {
    if (out.length >= max) return;
    const childDecl = assigned[i];
    if (childDecl) validateElement(childDecl, el.children[i]!, out, max);
  }
}

/**
 * A content model compiled once: whether it is a wildcard only, and, when it is a run of element names in a
 * fixed order, those runs (see matchRuns). Kept per particle: the trees are parsed once per process.
 */
interface Compiled {
  wildcardOnly: boolean;
  runs: Run[] | null;
}

/** Children named in `decls`, between `min` and `max` of them in a row. */
interface Run {
  decls: Map<string, ElementDecl>;
  min: number;
  max: number;
}

const compiledContent = new WeakMap<Particle, Compiled>();

function compiledOf(content: Particle): Compiled {
  let c = compiledContent.get(content);
  if (c === undefined) compiledContent.set(content, (c = { wildcardOnly: isWildcardOnly(content), runs: runsOf(content) }));
  return c;
}

/**
 * The runs of a content model that is a sequence (once) of elements and of repeated choices between single
 * elements, every name in it distinct: `set_traffic`'s six counters, an operator's operations, the packet's
 * operators. Then children match iff they split into those runs in order, and the split is forced (a name
 * belongs to one run only), so reading them greedily is the whole matching. null for any other model.
 */
function runsOf(content: Particle): Run[] | null {
  const parts = content.kind === 'sequence' && content.occurs.min === 1 && content.occurs.max === 1 ? content.particles : [content];
  const runs: Run[] = [];
  const seen = new Set<string>();
  for (const p of parts) {
    let members: ElementDecl[];
    if (p.kind === 'element') members = [p];
    else if (p.kind === 'choice' && p.particles.every((m) => m.kind === 'element' && m.occurs.min === 1 && m.occurs.max === 1)) {
      members = p.particles as ElementDecl[];
    } else return null;
    const decls = new Map<string, ElementDecl>();
    for (const m of members) {
      if (seen.has(m.name)) return null;
      seen.add(m.name);
      decls.set(m.name, m);
    }
    runs.push({ decls, min: p.occurs.min, max: p.occurs.max });
  }
  return runs;
}

/** Each child's declaration when the children fit the runs; undefined when not (the Matcher then says why). */
function matchRuns(runs: Run[], children: XmlElement[]): (ElementDecl | undefined)[] | undefined {
  const assigned = new Array<ElementDecl | undefined>(children.length);
  let pos = 0;
  for (const run of runs) {
    let k = 0;
    while (k < run.max && pos < children.length) {
      const decl = run.decls.get(children[pos]!.name);
      if (decl === undefined) break;
      assigned[pos++] = decl;
      k++;
    }
    if (k < run.min) return undefined;
  }
  return pos === children.length ? assigned : undefined;
}

/** `(sequence) <> [0..unbounded]`: the shape of anyType in the trees. */
function isWildcardOnly(p: Particle): boolean {
  if (p.kind === 'any') return true;
  if (p.kind === 'element') return false;
  return p.particles.length > 0 && p.particles.every(isWildcardOnly);
}

/** One matching run over the children of one element. */
class Matcher {
  readonly names: string[];
  /** Element declaration matched at each child position (wildcards leave undefined). */
  readonly assigned: (ElementDecl | undefined)[];
  /** The furthest child position any path reached, and the element names tried and missed there:
   *  what libxml2 reports ("This element is not expected. Expected is …"). Nearer misses are never
   *  reported, so they are not kept. */
  private furthest = 0;
  private expected = new Set<string>();
  private readonly memo = new Map<Particle, Map<number, number[]>>();

  constructor(names: string[]) {
    this.names = names;
    this.assigned = new Array(names.length);
  }

  private expect(pos: number, name: string): void {
    if (pos < this.furthest) return;
    if (pos > this.furthest) this.reached(pos);
    this.expected.add(name);
  }

  private reached(pos: number): void {
    if (pos > this.furthest) {
      this.furthest = pos;
      this.expected = new Set();
    }
  }

  /** End positions of `p` (with its cardinality) starting at `pos`. */
  match(p: Particle, pos: number): number[] {
    if (p.kind === 'element') return this.run(p, pos);
    let byPos = this.memo.get(p);
    if (!byPos) this.memo.set(p, (byPos = new Map()));
    const hit = byPos.get(pos);
    if (hit) return hit;
    const result = this.repeat(p, pos);
    byPos.set(pos, result);
    return result;
  }

  /** An element particle: the run of same-named children at `pos`, as long as its cardinality allows. */
  private run(p: ElementDecl, pos: number, min = p.occurs.min, max = p.occurs.max): number[] {
    const names = this.names;
    let k = 0;
    while (k < max && pos + k < names.length && names[pos + k] === p.name) {
      this.assigned[pos + k] ??= p;
      k++;
    }
    if (k > 0) this.reached(pos + k);
    if (k < max) this.expect(pos + k, p.name);
    if (k < min) return [];
    if (min === k) return [pos + k];
    const ends: number[] = [];
    for (let i = min; i <= k; i++) ends.push(pos + i);
    return ends;
  }

  private repeat(p: Particle, pos: number): number[] {
    const { min, max } = p.occurs;
    const result = new Set<number>();
    if (min === 0) result.add(pos);
    const seen = new Set<number>([pos]);
    let current = [pos];
    for (let rep = 1; rep <= max && current.length > 0; rep++) {
      const next = new Set<number>();
      for (const q of current) for (const r of this.once(p, q)) next.add(r);
      if (rep >= min) for (const r of next) result.add(r);
      // Below min every end position goes on (an empty repetition may be needed to reach min);
      // from min on, only positions not reached before: this ends loops of empty repetitions.
      current = [];
      for (const r of next) {
        if (rep < min || !seen.has(r)) current.push(r);
        seen.add(r);
      }
    }
    return [...result];
  }

  /** End positions of exactly one occurrence of `p` at `pos`. */
  private once(p: Particle, pos: number): number[] {
    switch (p.kind) {
      case 'element':
        return this.run(p, pos, 1, 1);
      case 'any':
        if (pos < this.names.length) {
          this.reached(pos + 1);
          return [pos + 1];
        }
        return [];
      case 'sequence': {
        let positions = [pos];
        for (const c of p.particles) {
          if (positions.length === 1) positions = this.match(c, positions[0]!);
          else {
            const next = new Set<number>();
            for (const q of positions) for (const r of this.match(c, q)) next.add(r);
            positions = [...next];
          }
          if (positions.length === 0) break;
        }
        return positions;
      }
      case 'choice': {
        const ends = new Set<number>();
        for (const c of p.particles) for (const r of this.match(c, pos)) ends.add(r);
        return [...ends];
      }
      case 'all':
        return this.all(p, pos);
    }
  }

  /** `(all)`: the members in any order, each at most once; required members must appear. */
  private all(p: Group, pos: number): number[] {
    const ends = new Set<number>();
    const members = p.particles;
    const visited = new Set<string>();
    const walk = (at: number, used: bigint): void => {
      const key = `${at}:${used}`;
      if (visited.has(key)) return;
      visited.add(key);
      const complete = members.every((m, i) => m.occurs.min === 0 || (used & (1n << BigInt(i))) !== 0n);
      if (complete) ends.add(at);
      members.forEach((m, i) => {
        const bit = 1n << BigInt(i);
        if ((used & bit) !== 0n) return;
        for (const r of this.once(m, at)) if (r > at) walk(r, used | bit);
      });
    };
    walk(pos, 0n);
    return [...ends];
  }

  /** The libxml2 message for a failed match, and the child position it names (undefined: the parent). */
  failure(parent: string): { message: string; at: number | undefined } {
    const at = this.furthest;
    // Names in the order the content model offers them, as many as libxml2 prints.
    const expected = [...this.expected].slice(0, MAX_EXPECTED_NAMES);
    const clause = expected.length === 0 ? ''
      : expected.length === 1 ? ` Expected is ( ${expected[0]} ).`
        : ` Expected is one of ( ${expected.join(', ')} ).`;
    if (at < this.names.length) return { message: `Element '${this.names[at]}': This element is not expected.${clause}`, at };
    return { message: `Element '${parent}': Missing child element(s).${clause}`, at: undefined };
  }
}

/** Matches the children of `el`; returns each child's declaration, or null after recording a violation. */
function matchContent(content: Particle, el: XmlElement, out: Violation[]): (ElementDecl | undefined)[] | null {
  const m = new Matcher(el.children.map((c) => c.name));
  const ends = m.match(content, 0);
  if (ends.includes(el.children.length)) return m.assigned;
  const { message, at } = m.failure(el.name);
  out.push({ line: (at === undefined ? el.line : el.children[at]!.line) ?? 1, message });
  return null;
}
