/**
 * Scrapes /metrics with curl, as an outside scraper would, into a file: the transfer's time and size
 * are the server's, and no response body is held in the benchmark's process (where it would count as
 * engine memory). Asynchronous: the server answering it runs in the benchmark's own event loop.
 */
import { execFile } from 'node:child_process';

export interface Scrape {
  bytes: number;
  ms: number;
}

/** GETs `url` into `file`; rejects when the request fails or answers other than 200. */
export function scrape(url: string, file: string): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const format = '%{http_code} %{size_download} %{time_total}';
    execFile('curl', ['-sS', '-o', file, '-w', format, url], { timeout: 60_000 }, (error, out) => {
      if (error) return reject(error);
      const [code, bytes, seconds] = out.trim().split(' ');
      if (code !== '200') return reject(new Error(`GET ${url} answered ${code}`));
      resolve({ bytes: Number(bytes), ms: Number(seconds) * 1000 });
    });
  });
}
