// Strict XML parsing of packets into a light element tree (name, attributes, child elements, text).
//
// xmlbuilder2 builds the tree and decodes references and CDATA. Its reader is lenient where Plesk's
// libxml2 is not: it does not compare end-tag names (`<a><b></a></b>` passes), closes unclosed elements
// at the end, keeps unknown references like `&x;` as text and lets a repeated attribute win silently.
// A packet built by string templates can have exactly those faults (an unescaped `&` in a name), so a
// well-formedness pass runs first and refuses them. A DOCTYPE is refused outright: Plesk packets never
// carry one, and entity declarations are the XXE and billion-laughs vectors.

import { create } from 'xmlbuilder2';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Text and CDATA directly inside the element, concatenated (comments and PIs dropped). */
  text: string;
  /** 1-based line where the start tag ends (libxml2's node line, used in Plesk's 1014 messages). */
  line?: number;
}

export type XmlErrorKind = 'malformed' | 'doctype';

export class XmlError extends Error {
  readonly kind: XmlErrorKind;
  constructor(kind: XmlErrorKind, message: string) {
    super(message);
    this.name = 'XmlError';
    this.kind = kind;
  }
}

// Markup whose content is not tags: comments, CDATA sections, processing instructions (and the
// declaration). Removed before the tag scan; an unterminated one is left and then fails the scan.
const OPAQUE_RE = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>/g;
const NAME = `[^\\s/>=<"'!?&]+`;
const TAG_RE = new RegExp(`<(/?)(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(/?)>`, 'y');
const ATTR_NAME_RE = new RegExp(`(${NAME})\\s*=`, 'g');
// After markup removal every `&` must start one of the five predefined references or a character reference.
const BAD_REF_RE = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;

/** Throws XmlError when `text` is not one well-formed element (with optional prolog and comments). */
export function checkWellFormed(text: string): void {
  scanTags(text);
}

/**
 * The well-formedness pass; returns the line of every start tag in document order (pre-order, the
 * order in which elements are built). Opaque markup is blanked down to its newlines so lines stay true.
 */
function scanTags(text: string): number[] {
  const body = text.replace(OPAQUE_RE, (m) => m.replace(/[^\n]+/g, ''));
  const lines: number[] = [];
  let line = 1;
  let counted = 0;
  if (/<!DOCTYPE/i.test(body) || /<!ENTITY/i.test(body)) {
    throw new XmlError('doctype', 'DOCTYPE and entity declarations are not allowed');
  }
  const bad = BAD_REF_RE.exec(body);
  if (bad) throw new XmlError('malformed', `xmlParseEntityRef: no name or undefined entity near '${body.slice(bad.index, bad.index + 12)}'`);

  const open: string[] = [];
  let rootSeen = false;
  let pos = 0;
  for (;;) {
    const lt = body.indexOf('<', pos);
    const textEnd = lt === -1 ? body.length : lt;
    if (open.length === 0 && !/^[ \t\r\n]*$/.test(body.slice(pos, textEnd))) {
      throw new XmlError('malformed', rootSeen ? 'Extra content at the end of the document' : 'Start tag expected, \'<\' not found');
    }
    if (lt === -1) break;
    TAG_RE.lastIndex = lt;
    const m = TAG_RE.exec(body);
    if (!m) throw new XmlError('malformed', `Malformed markup near '${body.slice(lt, lt + 24)}'`);
    const [, closing, name, attrs, selfClosing] = m;
    if (closing) {
      if (attrs || selfClosing) throw new XmlError('malformed', `Malformed end tag </${name}>`);
      const expected = open.pop();
      if (expected !== name) {
        throw new XmlError('malformed', expected === undefined
          ? `Unexpected end tag </${name}>`
          : `Opening and ending tag mismatch: ${expected} and ${name}`);
      }
    } else {
      if (open.length === 0) {
        if (rootSeen) throw new XmlError('malformed', 'Extra content at the end of the document');
        rootSeen = true;
      }
      if (attrs) {
        const seen = new Set<string>();
        for (const a of attrs.matchAll(ATTR_NAME_RE)) {
          if (seen.has(a[1]!)) throw new XmlError('malformed', `Attribute ${a[1]} redefined`);
          seen.add(a[1]!);
        }
      }
      if (!selfClosing) open.push(name!);
      // Newlines up to the end of this start tag, counted once over the whole text.
      const end = TAG_RE.lastIndex;
      for (let i = body.indexOf('\n', counted); i !== -1 && i < end; i = body.indexOf('\n', i + 1)) line++;
      counted = end;
      lines.push(line);
    }
    pos = TAG_RE.lastIndex;
  }
  if (open.length > 0) throw new XmlError('malformed', `Premature end of data in tag ${open[open.length - 1]}`);
  if (!rootSeen) throw new XmlError('malformed', 'Document is empty');
  return lines;
}

// The DOM node shape xmlbuilder2 hands out (a subset of the W3C DOM). Sibling links are walked
// instead of the live childNodes list, which is slow to iterate.
interface DomNode {
  nodeType: number;
  nodeName: string;
  data?: string;
  firstChild: DomNode | null;
  nextSibling: DomNode | null;
  attributes?: ArrayLike<{ name: string; value: string }>;
}

function toElement(node: DomNode, lines: number[], next: { i: number }): XmlElement {
  const el: XmlElement = { name: node.nodeName, attributes: {}, children: [], text: '' };
  const line = lines[next.i++];
  if (line !== undefined) el.line = line;
  const attrs = node.attributes;
  if (attrs) for (let i = 0; i < attrs.length; i++) el.attributes[attrs[i]!.name] = attrs[i]!.value;
  for (let c = node.firstChild; c !== null; c = c.nextSibling) {
    if (c.nodeType === 1) el.children.push(toElement(c, lines, next));
    else if (c.nodeType === 3 || c.nodeType === 4) el.text += c.data ?? '';
  }
  return el;
}

/** Parses one XML document into its root element; throws XmlError for anything not well-formed. */
export function parseXml(input: string): XmlElement {
  // A UTF-8 byte order mark may open a document (XML 1.0 §4.3.3); it is not content.
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const lines = scanTags(text);
  let root: DomNode;
  try {
    const doc = create({
      parser: {
        docType: () => {
          throw new XmlError('doctype', 'DOCTYPE and entity declarations are not allowed');
        },
      },
    }, text);
    root = doc.root().node as unknown as DomNode;
  } catch (err) {
    if (err instanceof XmlError) throw err;
    throw new XmlError('malformed', err instanceof Error ? err.message.split('\n')[0]! : String(err));
  }
  return toElement(root, lines, { i: 0 });
}
