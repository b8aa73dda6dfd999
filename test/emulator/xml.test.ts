// Strict XML parsing: what xmlbuilder2 alone would let through must be refused, and real packets
// (declaration, comments, CDATA, references, attributes) must come through intact.

import { describe, expect, it } from 'vitest';
import { parseXml, XmlError } from '../../src/stand-ins/plesk/schema/index.js';

function refusal(xml: string): string {
  try {
    parseXml(xml);
  } catch (err) {
    expect(err).toBeInstanceOf(XmlError);
    return `${(err as XmlError).kind}: ${(err as XmlError).message}`;
  }
  throw new Error(`accepted: ${xml}`);
}

describe('parseXml', () => {
  it('reads names, attributes, text, references and CDATA; drops comments and PIs', () => {
    const root = parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<!-- hi --><packet version=\'1.6.3.0\' x="a&amp;b">'
      + '<webspace><get><filter><name>a&amp;b &lt;c&gt; &quot;&apos; &#233;&#x20AC;<![CDATA[<raw>&amp;]]></name><!-- c --><?pi x?></filter></get></webspace></packet>\n');
    expect(root.name).toBe('packet');
    expect(root.attributes).toEqual({ version: '1.6.3.0', x: 'a&b' });
    const name = root.children[0]!.children[0]!.children[0]!.children[0]!;
    expect(name).toEqual({ name: 'name', attributes: {}, children: [], text: 'a&b <c> "\' é€<raw>&amp;', line: 2 });
  });

  it('gives every element the line its start tag ends on, across comments, CDATA and multi-line tags', () => {
    const root = parseXml('<?xml version="1.0"?>\n<!-- one\ntwo -->\n<packet>\n  <a><![CDATA[x\ny]]></a>\n  <b\n   x="1"><c/>\n  </b><d/></packet>');
    const lines = (el: typeof root): string[] => [`${el.name}:${el.line}`, ...el.children.flatMap(lines)];
    expect(lines(root)).toEqual(['packet:4', 'a:5', 'b:8', 'c:8', 'd:9']);
  });

  it('refuses mismatched, unclosed and stray end tags that xmlbuilder2 alone accepts', () => {
    expect(refusal('<packet><a><b></a></b></packet>')).toBe('malformed: Opening and ending tag mismatch: b and a');
    expect(refusal('<packet><a>')).toBe('malformed: Premature end of data in tag a');
    expect(refusal('<packet></a></packet>')).toBe('malformed: Opening and ending tag mismatch: packet and a');
    expect(refusal('<packet/></packet>')).toBe('malformed: Unexpected end tag </packet>');
  });

  it('refuses unknown or unescaped references, duplicate attributes, stray markup and extra roots', () => {
    expect(refusal('<packet>&nbsp;</packet>')).toMatch(/^malformed: xmlParseEntityRef/);
    expect(refusal('<packet>a & b</packet>')).toMatch(/^malformed: xmlParseEntityRef/);
    expect(refusal('<packet a="1 & 2"/>')).toMatch(/^malformed: xmlParseEntityRef/);
    expect(refusal('<packet a="1" a="2"/>')).toBe('malformed: Attribute a redefined');
    expect(refusal('<packet>a < b</packet>')).toMatch(/^malformed: Malformed markup/);
    expect(refusal('<packet><!-- open </packet>')).toMatch(/^malformed: Malformed markup/);
    expect(refusal('<packet/><packet/>')).toBe('malformed: Extra content at the end of the document');
    expect(refusal('<packet/>trailing')).toBe('malformed: Extra content at the end of the document');
    expect(refusal('junk<packet/>')).toBe("malformed: Start tag expected, '<' not found");
    expect(refusal('')).toBe('malformed: Document is empty');
    expect(refusal('\u00a0<packet/>')).toBe("malformed: Start tag expected, '<' not found");
  });

  it('refuses any DOCTYPE, internal subset or not', () => {
    expect(refusal('<!DOCTYPE packet><packet/>')).toBe('doctype: DOCTYPE and entity declarations are not allowed');
    expect(refusal('<!DOCTYPE lol [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><packet>&b;</packet>'))
      .toBe('doctype: DOCTYPE and entity declarations are not allowed');
  });

  it('skips a leading byte order mark', () => {
    expect(parseXml('\ufeff<?xml version="1.0"?><packet/>').name).toBe('packet');
  });

  it('keeps a > inside attribute values and markup inside comments out of the tag scan', () => {
    const root = parseXml('<packet note="a > b"><!-- <unclosed> --><x/></packet>');
    expect(root.attributes['note']).toBe('a > b');
    expect(root.children.map((c) => c.name)).toEqual(['x']);
  });
});
