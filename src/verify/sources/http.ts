/**
 * JSON over HTTP for the verifier (a Prometheus query API, a simulator's control API): a deadline per
 * request, a cap on the body read, and failures as SourceError naming the URL, so that an unreachable
 * or misbehaving server is told apart from a pipeline that failed the verification.
 */
import { SourceError } from '../errors.ts';

export interface HttpOptions {
  /** per request @default 30000 */
  timeoutMs?: number;
  /** largest body read @default 512 MiB */
  maxBytes?: number;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST' | 'PUT';
  body?: string;
}

/** What an HTTP error answer said, kept for the caller (the status decides what it means). */
export class HttpStatusError extends SourceError {
  readonly status: number;
  readonly body: unknown;

  constructor(url: string, status: number, body: unknown, message: string) {
    super('refused', url, message);
    this.status = status;
    this.body = body;
  }
}

/** The URL without credentials, for messages. */
export function safeUrl(url: string | URL): string {
  const copy = new URL(url);
  copy.username = '';
  copy.password = '';
  return copy.toString();
}

/**
 * Fetches `url` and parses its JSON body, whatever the status.
 * @throws SourceError unreachable (no answer in time) or refused (not JSON, or larger than maxBytes)
 */
export async function fetchJson(
  url: string | URL,
  options: HttpOptions = {},
): Promise<{ status: number; body: unknown }> {
  const where = safeUrl(url);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxBytes = options.maxBytes ?? 512 * 2 ** 20;
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      body: options.body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new SourceError('unreachable', where, `cannot reach ${where}: ${reason}`, { cause: error });
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body ?? []) {
      size += chunk.length;
      if (size > maxBytes) {
        await response.body?.cancel().catch(() => {});
        throw new SourceError('refused', where, `${where} answered more than ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw new SourceError(
      'unreachable',
      where,
      `reading the answer of ${where} failed: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const text = Buffer.concat(chunks, size).toString('utf8');
  try {
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  } catch {
    throw new SourceError(
      'refused',
      where,
      `${where} answered ${response.status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
}
