import { describe, expect, it } from 'vitest';
import { create } from 'xmlbuilder2';
import { checkWellFormed, parseXml, XmlSyntaxError } from '../../src/plesk/xml.js';

describe('xmlbuilder2 reader behaviour this module relies on (4.0.3)', () => {
  it('closes unclosed and mismatched elements silently, hence the balance check', () => {
    expect(create('<a><b>x').end({ headless: true })).toBe('<a><b>x</b></a>');
    expect(create('<a><b>x</c></a>').end({ headless: true })).toBe('<a><b>x</b></a>');
  });
  it('does not expand internal DTD entities and leaves unknown ones as text', () => {
    const doc = create('<!DOCTYPE a [<!ENTITY e "EXPANDED">]><a>&e;</a>');
    expect(doc.root().node.textContent).toBe('&e;');
  });
});

describe('parseXml', () => {
  it('builds the element tree with attributes and decoded text', () => {
    const root = parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<packet version="1.6.3.0">\n  <a x="1&amp;2">A&amp;B &lt;&#65;&#x42;</a>\n  <b/><c><![CDATA[<raw>]]></c>\n</packet>');
    expect(root.name).toBe('packet');
    expect(root.attributes).toEqual({ version: '1.6.3.0' });
    expect(root.children.map((c) => c.name)).toEqual(['a', 'b', 'c']);
    expect(root.children[0]!.attributes).toEqual({ x: '1&2' });
    expect(root.children[0]!.text).toBe('A&B <AB');
    expect(root.children[2]!.text).toBe('<raw>');
  });

  it('leaves an undeclared entity as literal text (never expanded)', () => {
    expect(parseXml('<a>&foo;</a>').text).toBe('&foo;');
  });

  it.each([
    ['DOCTYPE', '<!DOCTYPE packet><packet/>'],
    ['internal entity', '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'],
    ['external entity', '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>'],
    ['lower-case doctype', '<!doctype html><html></html>'],
    ['HTML error page', '<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>'],
  ])('refuses a %s', (_what, xml) => {
    expect(() => parseXml(xml)).toThrow(/document type declarations are refused/);
  });

  it.each([
    ['truncated inside an element', '<packet><webspace><set_traffic><result><status>ok</status>'],
    ['truncated inside a tag', '<packet><webspace><set_traffic><result><sta'],
    ['truncated before the root closes', '<packet><webspace/>'],
    ['mismatched end tag', '<packet><a></b></packet>'],
    ['two roots', '<packet/><packet/>'],
    ['text after the root', '<packet/>garbage'],
    ['plain text', 'Service Unavailable'],
    ['empty body', ''],
    ['unterminated comment', '<packet><!-- </packet>'],
  ])('refuses %s', (_what, xml) => {
    expect(() => parseXml(xml)).toThrow(XmlSyntaxError);
  });

  it('accepts markup-like content in attributes, comments, CDATA and PIs', () => {
    expect(() => checkWellFormed('<?xml version="1.0"?><!-- <x> --><a t="a>b" u=\'&lt;\'><![CDATA[</a>]]><?pi <y>?></a>\n')).not.toThrow();
  });
});
