// The Plesk XML API 1.6.9.1 schema as data: request and response trees, parsed once on first use,
// and a validator that answers the way Plesk's checkup does (errcode 1014 with libxml2's message).

import { AGENT_INPUT_TREE } from './agent-input-tree.js';
import { AGENT_OUTPUT_TREE } from './agent-output-tree.js';
import { parseSchemaTree, type SchemaModel } from './tree.js';
import { validateDocument, type ValidationOptions } from './validate.js';
import { parseXml, XmlError, type XmlElement } from './xml.js';

export { parseSchemaTree, findElement, formatOccurs } from './tree.js';
export type { SchemaModel, ElementDecl, Group, Wildcard, Particle, Occurs } from './tree.js';
export { validateDocument, validateWithLines, MAX_EXPECTED_NAMES } from './validate.js';
export type { ValidationOptions, Violation } from './validate.js';
export { parseXml, checkWellFormed, XmlError } from './xml.js';
export type { XmlElement, XmlErrorKind } from './xml.js';

let input: SchemaModel | undefined;
let output: SchemaModel | undefined;

/** Requests (agent_input.xsd as a tree). */
export function inputSchema(): SchemaModel {
  return (input ??= parseSchemaTree(AGENT_INPUT_TREE));
}

/** Responses (agent_output.xsd as a tree). */
export function outputSchema(): SchemaModel {
  return (output ??= parseSchemaTree(AGENT_OUTPUT_TREE));
}

export interface PacketCheck {
  /** The parsed root, when the text was well-formed XML. */
  root?: XmlElement;
  /** Violations in document order (XML errors included); empty = valid. */
  violations: string[];
  /** Set when the text was not XML (or carried a DOCTYPE). */
  xmlError?: XmlError;
}

/**
 * Parses and validates a whole packet against the request (`input`) or response (`output`) schema.
 * Useful to tests of any packet producer: an empty `violations` means Plesk's schema checkup passes.
 */
export function checkPacket(xml: string, which: 'input' | 'output' = 'input', opts?: ValidationOptions): PacketCheck {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (err) {
    if (err instanceof XmlError) return { violations: [err.message], xmlError: err };
    throw err;
  }
  const model = which === 'input' ? inputSchema() : outputSchema();
  const violations = root.name === 'packet'
    ? validateDocument(model, root, opts)
    : [`Element '${root.name}': No matching global declaration available for the validation root.`];
  return { root, violations };
}
