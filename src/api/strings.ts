/**
 * Every string a request carries (body, path parameters, query) must be
 * well-formed, printable text, checked before anything is written (issue: an
 * endpoint id holding a lone UTF-16 surrogate was committed, with its IP and
 * MAC, and then answered 500 because it could not be encoded back):
 *
 *   - well-formed UTF-16 (no lone surrogates)
 *   - no C0/C1 control characters (NUL, ESC, DEL...)
 *   - no bidirectional controls (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069),
 *     which make an id display as another ("Trojan Source")
 *
 * Ids and names additionally exclude '/' and whitespace by their schemas.
 */
import type { FastifyRequest } from 'fastify';
import { FieldError } from './problems';

// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Why `s` is not acceptable text, or undefined. */
export function describeBadText(s: string): string | undefined {
  if (/\p{Surrogate}/u.test(s)) return 'is not well-formed text (a lone UTF-16 surrogate)';
  const m = FORBIDDEN.exec(s);
  if (m) return `contains the control character U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return undefined;
}

function walk(value: unknown, path: string, visit: (path: string, s: string) => void): void {
  if (typeof value === 'string') visit(path, value);
  else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`, visit));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      visit(`${path} key`, k);
      walk(v, `${path}.${k}`, visit);
    }
  }
}

export function checkRequestStrings(req: FastifyRequest): void {
  const visit = (path: string, s: string): void => {
    const bad = describeBadText(s);
    if (bad) throw new FieldError(path, bad);
  };
  walk(req.params, 'params', visit);
  walk(req.query, 'query', visit);
  walk(req.body, 'body', visit);
}
