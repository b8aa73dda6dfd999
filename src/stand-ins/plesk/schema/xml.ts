// Strict XML parsing of packets into a light element tree (name, attributes, child elements, text).
//
// saxes reads the tree (src/xml/tree.ts) and is as strict as Plesk's libxml2 about well-formedness: end tags
// must match, every element must close, `&x;` must be defined, an attribute may not repeat. A packet built by
// string templates can have exactly those faults (an unescaped `&` in a name). When saxes refuses, the tag scan
// below words the refusal as libxml2 does (Plesk quotes it in its 1014 answer). A DOCTYPE is refused outright:
// Plesk packets never carry one, and entity declarations are the XXE and billion-laughs vectors.

import { readXmlTree, XmlReadError, type TreeElement } from '../../../xml/tree.js';

/** An element of a packet; `line` is where its start tag ends (libxml2's node line, used in Plesk's 1014 messages). */
export type XmlElement = TreeElement;

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
const DOCTYPE_RE = /<!DOCTYPE|<!ENTITY/i;
// After markup removal every `&` must start one of the five predefined references or a character reference.
const BAD_REF_RE = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;

/**
 * Throws XmlError when `text` is not one well-formed element (with optional prolog and comments); returns the
 * line of every start tag in document order.
 */
export function checkWellFormed(text: string): number[] {
  return scanTags(text);
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
  if (DOCTYPE_RE.test(body)) {
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

/** Parses one XML document into its root element; throws XmlError for anything not well-formed. */
export function parseXml(input: string): XmlElement {
  // A UTF-8 byte order mark may open a document (XML 1.0 §4.3.3); it is not content.
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  // The scan refuses a real declaration (one outside comments and CDATA) with the 'doctype' kind.
  if (DOCTYPE_RE.test(text)) scanTags(text);
  try {
    return readXmlTree(text, { lines: true });
  } catch (err) {
    if (!(err instanceof XmlReadError)) throw err;
    // libxml2's words (what Plesk answers in its 1014) for the faults the scan knows; saxes' for the rest.
    scanTags(text);
    throw new XmlError('malformed', err.message);
  }
}
