// Reading one XML document into a light element tree, with saxes (a strict, non-validating XML 1.0 parser).
//
// Both XML readers use it: the Plesk client for answers (src/plesk/xml.ts) and the emulator for packets
// (src/stand-ins/plesk/schema/xml.ts). Each refuses DOCTYPE first and words its own refusals; this module only
// builds the tree or throws saxes' error. saxes checks well-formedness itself (matching end tags, one root,
// unique attributes, defined references, legal characters) and reads a 100-node set_traffic packet in
// ~0.3 ms where xmlbuilder2's DOM reader took ~3 ms (issue 13, goal 4: the emulator's and the client's CPU per
// packet is what a live run waits on). xmlbuilder2 still writes every packet.
//
// The tree is the one the readers built from xmlbuilder2's DOM before: text and CDATA directly inside an
// element are concatenated, comments and processing instructions dropped, and a run of only blanks between
// two pieces of markup is not text (xmlbuilder2 drops those; so does this, after references are decoded).

import { SaxesParser, type SaxesTagPlain } from 'saxes';

export interface TreeElement {
  name: string;
  attributes: Record<string, string>;
  children: TreeElement[];
  /** Text and CDATA directly inside the element, concatenated. */
  text: string;
  /** 1-based line where the start tag ends (only when asked for). */
  line?: number;
}

/** saxes' refusal: a well-formedness error, worded by saxes, with its line and column. */
export class XmlReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlReadError';
  }
}

const BLANKS = /^[ \t\r\n]*$/;

/** Reads `text` (one document) into its root element; throws XmlReadError when it is not well-formed. */
export function readXmlTree(text: string, options: { lines?: boolean; keepUndefinedEntities?: boolean } = {}): TreeElement {
  const lines = options.lines === true;
  // saxes reports `&foo;` with no definition and, told to go on, keeps it as that literal text.
  const keep = options.keepUndefinedEntities === true;
  const parser = new SaxesParser<{ xmlns: false; position: boolean }>({ xmlns: false, position: lines });
  const stack: TreeElement[] = [];
  let root: TreeElement | undefined;
  let failure: Error | undefined;
  parser.on('error', (err) => {
    if (keep && err.message.endsWith('undefined entity.')) return;
    failure ??= err;
  });
  parser.on('opentag', (tag: SaxesTagPlain) => {
    const el: TreeElement = { name: tag.name, attributes: tag.attributes, children: [], text: '' };
    if (lines) el.line = parser.line;
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else root ??= el;
    // saxes emits closetag for an empty-element tag (<a/>) too, so every element is pushed here and popped there.
    stack.push(el);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.on('text', (t: string) => {
    const el = stack[stack.length - 1];
    if (el && !BLANKS.test(t)) el.text += t;
  });
  parser.on('cdata', (t: string) => {
    const el = stack[stack.length - 1];
    if (el) el.text += t;
  });
  try {
    parser.write(text).close();
  } catch (err) {
    failure ??= err instanceof Error ? err : new Error(String(err));
  }
  if (failure) throw new XmlReadError(failure.message);
  if (!root) throw new XmlReadError('document has no root element');
  return root;
}
