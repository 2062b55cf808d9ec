/**
 * Optional bearer token on every changing request (any method but GET, HEAD and OPTIONS), whatever its
 * path, so a route added later cannot be left open. Reads stay open so a dashboard or a health probe
 * needs no secret.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { SAFE_METHODS } from './access.ts';
import { ApiError } from './errors.ts';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Middleware refusing changing requests without `Authorization: Bearer <token>` (the scheme in any
 * case, then spaces or tabs); a no-op without a token.
 */
export function requireToken(token: string | undefined): MiddlewareHandler {
  // Compared as digests: equal lengths for timingSafeEqual, and no early exit on the first wrong byte.
  const expected = token ? digest(token) : undefined;
  return async (c, next) => {
    if (!expected || SAFE_METHODS.has(c.req.method)) return next();
    const header = c.req.header('Authorization') ?? '';
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1] as string), expected)) {
      throw new ApiError(
        401,
        'unauthorized',
        'this request changes the simulator: send Authorization: Bearer <API_TOKEN>',
        {
          issues: [{ field: 'Authorization', in: 'header', expected: 'Bearer <API_TOKEN>' }],
        },
      );
    }
    return next();
  };
}
