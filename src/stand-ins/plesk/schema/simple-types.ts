// Checks of the simple (atomic) types the schema trees use for leaf elements.
// Lexical spaces follow XML Schema Part 2; values of numeric, date and boolean types have the
// `whiteSpace=collapse` facet, so leading and trailing blanks are allowed and ignored.
// Types the trees name but do not define (domainName, ip_address, objectStatus, …) are restrictions
// whose facets the trees do not show: they are accepted as strings.

import { isValidDate } from '../../../dates.js';

export interface SimpleCheck {
  /** Type name as libxml2 prints it in messages. */
  label: string;
  valid(value: string): boolean;
}

const INTEGER_RE = /^[+-]?\d+$/;

const isXmlBlank = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;

/** whiteSpace=collapse trims XML whitespace only (space, tab, CR, LF): U+00A0 is content, not blank. */
export function xmlTrim(v: string): string {
  if (v.length === 0 || (!isXmlBlank(v.charCodeAt(0)) && !isXmlBlank(v.charCodeAt(v.length - 1)))) return v;
  return v.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

/** Whether `s` is 1 to `n` ASCII digits. */
function digitsUpTo(s: string, n: number): boolean {
  if (s.length === 0 || s.length > n) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function integerIn(min: bigint, max: bigint): (v: string) => boolean {
  // Unsigned numbers shorter than max's digits are in range whatever they are: no bigint needed for them.
  const safeDigits = min <= 0n ? max.toString().length - 1 : 0;
  return (v) => {
    const s = xmlTrim(v);
    if (digitsUpTo(s, safeDigits)) return true;
    if (!INTEGER_RE.test(s)) return false;
    const n = BigInt(s);
    return n >= min && n <= max;
  };
}

const XS_INT = integerIn(-2147483648n, 2147483647n);
const XS_LONG = integerIn(-9223372036854775808n, 9223372036854775807n);
const XS_UNSIGNED_INT = integerIn(0n, 4294967295n);
const XS_UNSIGNED_LONG = integerIn(0n, 18446744073709551615n);

// xs:date: YYYY-MM-DD with an optional time zone (Z or ±hh:mm, hours up to 14). Years of more than four
// digits and negative years are valid xs:date but no Plesk traffic day: refused to keep the check simple.
const DATE_RE = /^(\d{4}-\d{2}-\d{2})(Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00))?$/;
// Packets repeat the same few days; dayjs strict parsing is the slow part, so verdicts are cached.
const dayVerdicts = new Map<string, boolean>();
function xsDate(v: string): boolean {
  const m = DATE_RE.exec(xmlTrim(v));
  if (m === null) return false;
  const day = m[1]!;
  let ok = dayVerdicts.get(day);
  if (ok === undefined) {
    ok = isValidDate(day);
    if (dayVerdicts.size >= 10_000) dayVerdicts.clear();
    dayVerdicts.set(day, ok);
  }
  return ok;
}

const DOUBLE_RE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?INF|NaN)$/;

// Labels are the type names as Plesk's messages print them: bare, without an `xs:` prefix, for built-in
// and derived types alike ("… is not a valid value of the atomic type 'int'." and "… 'id_type'." in
// public WHMCS module threads: plesk/whmcs-plugin #34, #38, #48).
const CHECKS: Record<string, SimpleCheck> = {
  int: { label: 'int', valid: XS_INT },
  // Plesk's common.xsd derives id_type from xs:int; the derived type is named in its messages.
  id_type: { label: 'id_type', valid: XS_INT },
  long: { label: 'long', valid: XS_LONG },
  unsignedInt: { label: 'unsignedInt', valid: XS_UNSIGNED_INT },
  unsignedLong: { label: 'unsignedLong', valid: XS_UNSIGNED_LONG },
  date: { label: 'date', valid: xsDate },
  boolean: { label: 'boolean', valid: (v) => /^(?:true|false|1|0)$/.test(xmlTrim(v)) },
  double: { label: 'double', valid: (v) => DOUBLE_RE.test(xmlTrim(v)) },
};

/** The check for a leaf's type, or undefined when any text is accepted (string and unknown types). */
export function simpleCheck(type: string | undefined): SimpleCheck | undefined {
  return type === undefined ? undefined : CHECKS[type];
}

/**
 * Types of leaves that are empty complex types: no text, no children. Only NoneType is known for sure
 * (`gen_info : NoneType` in datasets, `owner-all`, `off`); other leaf type names are read as simple.
 */
export function isEmptyType(type: string | undefined): boolean {
  return type === 'NoneType';
}
