// Safe parsing of Plesk response bodies into a small element tree, on top of xmlbuilder2's reader.
//
// What xmlbuilder2 4.0.3's reader does (measured, see test/plesk/xml.test.ts):
// - it never expands DTD entities (an internal `<!ENTITY e "…">` stays `&e;` in the text) and only decodes
//   the five predefined entities and numeric character references;
// - it is lenient about structure: an unclosed element is closed at end of input and a closing tag with the
//   wrong name just closes the current element. A truncated body would therefore parse as a shorter tree.
// So before parsing we refuse any DOCTYPE/ENTITY declaration outright, and check that start and end tags
// balance; the tree walk itself is xmlbuilder2's.

import { create } from 'xmlbuilder2';

/** An element: its name, attributes, child elements in document order, and its own text (text/CDATA children). */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** A body that is not a well-formed, DTD-free XML document. */
export class XmlSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlSyntaxError';
  }
}

// Constructs that may hold `<` without being tags; they are skipped by the balance check.
const SKIP = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>/y;
// A start, end or empty-element tag; attribute values may contain `>` (legal in XML), so they are matched whole.
const TAG = /<(\/?)([^\s/>"'=<]+)((?:[^>"'<]|"[^"]*"|'[^']*')*?)(\/?)>/y;

/**
 * Throws XmlSyntaxError unless every start tag has its matching end tag, in order, and there is exactly one
 * root element with only whitespace around it.
 */
export function checkWellFormed(xml: string): void {
  const open: string[] = [];
  let roots = 0;
  let pos = 0;
  for (;;) {
    const lt = xml.indexOf('<', pos);
    const textEnd = lt === -1 ? xml.length : lt;
    if (open.length === 0 && xml.slice(pos, textEnd).trim() !== '') {
      throw new XmlSyntaxError(`text outside the root element at offset ${pos}`);
    }
    if (lt === -1) break;
    SKIP.lastIndex = lt;
    if (SKIP.test(xml)) {
      pos = SKIP.lastIndex;
      continue;
    }
    TAG.lastIndex = lt;
    const m = TAG.exec(xml);
    if (!m) throw new XmlSyntaxError(`malformed or truncated markup at offset ${lt}`);
    pos = TAG.lastIndex;
    const [, closing, name, , empty] = m;
    if (closing) {
      const expected = open.pop();
      if (expected !== name) {
        throw new XmlSyntaxError(`end tag </${name}> at offset ${lt} does not close <${expected ?? ''}>`);
      }
    } else {
      if (open.length === 0) roots += 1;
      if (!empty) open.push(name!);
    }
  }
  if (open.length > 0) throw new XmlSyntaxError(`truncated: <${open[open.length - 1]}> is never closed`);
  if (roots !== 1) throw new XmlSyntaxError(roots === 0 ? 'no root element' : 'more than one root element');
}

/** DOCTYPE and ENTITY declarations are refused before parsing (no entity expansion, no external DTDs). */
const DTD = /<!DOCTYPE|<!ENTITY/i;

// The DOM node shape xmlbuilder2 hands out (a subset of the W3C DOM it implements).
interface DomNode {
  nodeType: number;
  nodeName: string;
  childNodes: Iterable<DomNode>;
  data?: string;
  attributes?: Iterable<{ name: string; value: string }>;
}
const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_NODE = 4;

function toElement(node: DomNode): XmlElement {
  const el: XmlElement = { name: node.nodeName, attributes: {}, children: [], text: '' };
  for (const a of node.attributes ?? []) el.attributes[a.name] = a.value;
  for (const child of node.childNodes) {
    if (child.nodeType === ELEMENT_NODE) el.children.push(toElement(child));
    else if (child.nodeType === TEXT_NODE || child.nodeType === CDATA_NODE) el.text += child.data ?? '';
  }
  return el;
}

/** Parses one XML document into its root element. Throws XmlSyntaxError for anything unsafe or not well-formed. */
export function parseXml(xml: string): XmlElement {
  if (DTD.test(xml)) throw new XmlSyntaxError('document type declarations are refused');
  checkWellFormed(xml);
  let root: DomNode;
  try {
    root = create(xml).root().node as unknown as DomNode;
  } catch (err) {
    throw new XmlSyntaxError(err instanceof Error ? err.message.split('\n')[0]! : String(err));
  }
  return toElement(root);
}

/** Child elements named `name`. */
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** The only child named `name`, undefined when absent; throws XmlSyntaxError when repeated. */
export function childNamed(el: XmlElement, name: string): XmlElement | undefined {
  let found: XmlElement | undefined;
  for (const c of el.children) {
    if (c.name !== name) continue;
    if (found) throw new XmlSyntaxError(`<${el.name}> has more than one <${name}>`);
    found = c;
  }
  return found;
}

/** Trimmed text of the only child named `name`, undefined when absent. */
export function childText(el: XmlElement, name: string): string | undefined {
  const c = childNamed(el, name);
  return c === undefined ? undefined : c.text.trim();
}
