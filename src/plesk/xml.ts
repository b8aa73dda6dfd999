// Safe parsing of Plesk response bodies into a small element tree, with saxes (src/xml/tree.ts).
//
// A DOCTYPE/ENTITY declaration is refused before parsing (no entity expansion, no external DTDs). saxes is
// strict: a truncated body or a mismatched end tag is an error, never a shorter tree. An undefined reference
// (`&foo;`) stays that literal text, as it always has here (never expanded). When saxes refuses, the balance check below words the faults it knows (truncation, mismatched tags) the way
// this client always has; saxes' own message covers the rest.

import { readXmlTree, XmlReadError, type TreeElement } from '../xml/tree.js';

/** An element: its name, attributes, child elements in document order, and its own text (text/CDATA children). */
export type XmlElement = Omit<TreeElement, 'line' | 'children'> & { children: XmlElement[] };

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

/** Parses one XML document into its root element. Throws XmlSyntaxError for anything unsafe or not well-formed. */
export function parseXml(xml: string): XmlElement {
  if (DTD.test(xml)) throw new XmlSyntaxError('document type declarations are refused');
  try {
    return readXmlTree(xml, { keepUndefinedEntities: true });
  } catch (err) {
    if (!(err instanceof XmlReadError)) throw err;
    // Our own words for the faults the balance check knows (truncation above all); saxes' for the rest.
    checkWellFormed(xml);
    throw new XmlSyntaxError(err.message);
  }
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
