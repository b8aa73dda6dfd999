// Parser of the schema-tree text format (plesk-api-1.6.9.1/README.md) into a content model.
//
// One node per line, two spaces of indentation per level:
//   `name : type [min..max]`  an element (type and cardinality optional; none shown = exactly one);
//   `(sequence)`, `(choice)`, `(all)` with their own `[min..max]`: compositors over the lines below them;
//   `<> [min..max]`: an any-element wildcard;  `@`: the element accepts any attribute.
// The first line (`any: / schema`) heads the global element declarations (`descriptor`, `packet`).
// Lines that fit none of these (the trees end with a stray `     : string`) are kept in `skipped`.

export interface Occurs {
  min: number;
  /** Infinity for `unbounded`. */
  max: number;
}

export interface ElementDecl {
  kind: 'element';
  name: string;
  /** Type name as written (`long`, `domainFilterType`, …); undefined for an anonymous type. */
  type: string | undefined;
  occurs: Occurs;
  /** Content model when the element has child lines; null for a leaf (simple or empty content). */
  content: Particle | null;
  /** `@` under the element. */
  anyAttribute: boolean;
  /** 1-based line in the tree text, for messages and tests. */
  line: number;
}

export interface Group {
  kind: 'sequence' | 'choice' | 'all';
  occurs: Occurs;
  particles: Particle[];
  line: number;
}

export interface Wildcard {
  kind: 'any';
  occurs: Occurs;
  line: number;
}

export type Particle = ElementDecl | Group | Wildcard;

export interface SchemaModel {
  /** Global element declarations by name (`packet`, `descriptor`). */
  roots: Map<string, ElementDecl>;
  skipped: { line: number; text: string }[];
}

const ONE: Occurs = { min: 1, max: 1 };
const OCCURS_RE = /^\[(\d+)\.\.(\d+|unbounded)\]$/;
const ELEMENT_RE = /^([A-Za-z_][\w.-]*)(?: : ([A-Za-z_][\w.:-]*))?(?: (\[[^\]]*\]))?$/;
const GROUP_RE = /^\((sequence|choice|all)\)(?: (\[[^\]]*\]))?$/;
const WILDCARD_RE = /^<>(?: (\[[^\]]*\]))?$/;

function parseOccurs(text: string | undefined, line: number): Occurs {
  if (text === undefined) return ONE;
  const m = OCCURS_RE.exec(text);
  if (!m) throw new Error(`schema tree line ${line}: bad cardinality ${text}`);
  const min = Number(m[1]);
  const max = m[2] === 'unbounded' ? Infinity : Number(m[2]);
  if (max < min) throw new Error(`schema tree line ${line}: max below min in ${text}`);
  return { min, max };
}

/** A node while building: the particle plus the lines nested under it. */
interface Pending {
  indent: number;
  node: ElementDecl | Group | Wildcard | null;
  children: Particle[];
}

function attach(parent: Pending, child: Particle): void {
  parent.children.push(child);
}

/** Closes a pending node: an element's child particles become its content model. */
function close(p: Pending): void {
  const node = p.node;
  if (node === null) return;
  if (node.kind === 'element') {
    if (p.children.length === 1) node.content = p.children[0]!;
    else if (p.children.length > 1) {
      // Not seen in 1.6.9.1 (every element holds one compositor), but an implicit sequence is what
      // several lines under an element would mean in the diagrams.
      node.content = { kind: 'sequence', occurs: ONE, particles: p.children, line: node.line };
    }
  } else if (node.kind !== 'any') {
    node.particles = p.children;
  }
}

export function parseSchemaTree(text: string): SchemaModel {
  const lines = text.split('\n');
  const skipped: SchemaModel['skipped'] = [];
  const rootFrame: Pending = { indent: -1, node: null, children: [] };
  const stack: Pending[] = [rootFrame];

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!.replace(/\r$/, '');
    const body = raw.trimStart();
    if (body === '') continue;
    const indent = raw.length - body.length;
    const trimmed = body.trimEnd();
    if (lineNo === 1 && trimmed.startsWith('any:')) continue; // header of the global declarations

    let node: ElementDecl | Group | Wildcard | 'attr' | null = null;
    let m: RegExpExecArray | null;
    if (trimmed === '@') node = 'attr';
    else if ((m = GROUP_RE.exec(trimmed))) {
      node = { kind: m[1] as Group['kind'], occurs: parseOccurs(m[2], lineNo), particles: [], line: lineNo };
    } else if ((m = WILDCARD_RE.exec(trimmed))) {
      node = { kind: 'any', occurs: parseOccurs(m[1], lineNo), line: lineNo };
    } else if ((m = ELEMENT_RE.exec(trimmed))) {
      node = {
        kind: 'element', name: m[1]!, type: m[2], occurs: parseOccurs(m[3], lineNo),
        content: null, anyAttribute: false, line: lineNo,
      };
    }
    if (node === null || indent % 2 !== 0) {
      skipped.push({ line: lineNo, text: raw });
      continue;
    }

    while (stack.length > 1 && stack[stack.length - 1]!.indent >= indent) close(stack.pop()!);
    const parent = stack[stack.length - 1]!;
    if (node === 'attr') {
      if (parent.node?.kind === 'element') parent.node.anyAttribute = true;
      continue;
    }
    attach(parent, node);
    stack.push({ indent, node, children: [] });
  }
  while (stack.length > 1) close(stack.pop()!);

  const roots = new Map<string, ElementDecl>();
  for (const p of rootFrame.children) {
    if (p.kind === 'element') roots.set(p.name, p);
  }
  return { roots, skipped };
}

/** Follows a path of element names from a global declaration, through compositors (tests, lookups). */
export function findElement(model: SchemaModel, path: string[]): ElementDecl | undefined {
  let current = model.roots.get(path[0]!);
  for (const name of path.slice(1)) {
    if (!current?.content) return undefined;
    current = findChild(current.content, name);
  }
  return current;
}

function findChild(p: Particle, name: string): ElementDecl | undefined {
  if (p.kind === 'element') return p.name === name ? p : undefined;
  if (p.kind === 'any') return undefined;
  for (const c of p.particles) {
    const hit = findChild(c, name);
    if (hit) return hit;
  }
  return undefined;
}

/** Text of a cardinality as the tree writes it. */
export function formatOccurs(o: Occurs): string {
  return `[${o.min}..${o.max === Infinity ? 'unbounded' : o.max}]`;
}
