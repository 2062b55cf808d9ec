/**
 * Reads a JSON request body strictly before any route validates it: a key given twice (JSON.parse would
 * keep the last, silently) and nesting deeper than {@link MAX_NESTING_DEPTH} are refused with 422, a
 * syntax error with 400 naming its line and column. The route's validator parses the same text again;
 * it is accepted by then, and at most API_BODY_LIMIT long.
 */
import type { MiddlewareHandler } from 'hono';
import { MAX_NESTING_DEPTH } from '../config/defaults.ts';
import { parseStrictJson } from '../json/strict-parse.ts';
import { SAFE_METHODS } from './access.ts';

/** The media types the route validators read as JSON (application/json, application/*+json). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** Middleware checking a JSON body; a body of another type, or an empty one, is left to the route. */
export function strictJsonBody(): MiddlewareHandler {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]?.trim() ?? '';
    if (!JSON_MEDIA_TYPE.test(mediaType)) return next();
    const text = await c.req.text();
    if (text !== '') parseStrictJson(text, MAX_NESTING_DEPTH);
    return next();
  };
}
