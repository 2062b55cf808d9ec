/**
 * The /metrics page written to its client: the serializer's chunks, each after the client has taken
 * the one before, so that a page of 10,000 processes (40 MB) is never one buffer, and a client that
 * reads slowly or not at all holds a few chunks, not a page.
 */
import type { ServerResponse } from 'node:http';
import type { PrometheusTextSerializer } from './prometheus-text.ts';

/**
 * Writes the chunks of a page, each after the client has taken the one before (`drain`), handing each
 * back to the serializer once written. Stops when the client goes away.
 */
export async function writePage(
  response: ServerResponse,
  serializer: PrometheusTextSerializer,
  chunks: Iterator<Buffer>,
): Promise<void> {
  for (let next = chunks.next(); !next.done; next = chunks.next()) {
    const chunk = next.value;
    if (response.destroyed) return;
    if (!response.write(chunk, () => serializer.release(chunk))) {
      const closed = await new Promise<boolean>((resolve) => {
        const onDrain = () => done(false);
        const onClose = () => done(true);
        const done = (gone: boolean) => {
          response.off('drain', onDrain);
          response.off('close', onClose);
          resolve(gone);
        };
        response.once('drain', onDrain);
        response.once('close', onClose);
      });
      if (closed) return;
    }
  }
  response.end();
}
