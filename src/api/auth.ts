/**
 * Optional bearer token on mutating requests (POST, PUT, PATCH, DELETE). Reads stay open so a dashboard
 * or a health probe needs no secret.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.ts';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Middleware refusing mutating requests without `Authorization: Bearer <token>`; a no-op without a token. */
export function requireToken(token: string | undefined): MiddlewareHandler {
  // Compared as digests: equal lengths for timingSafeEqual, and no early exit on the first wrong byte.
  const expected = token ? digest(token) : undefined;
  return async (c, next) => {
    if (!expected || !MUTATING.has(c.req.method)) return next();
    const header = c.req.header('Authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !timingSafeEqual(digest((match[1] as string).trim()), expected)) {
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
