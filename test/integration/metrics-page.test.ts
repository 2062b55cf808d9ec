/**
 * The /metrics page streamed over a real HTTP connection on loopback (metrics-page.ts): whole for a
 * client that reads at once, the same moment for one that stops reading while the readings change,
 * and no harm from one that goes away mid-page.
 */
import assert from 'node:assert/strict';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { type SampledProcess, SnapshotStore } from '../../src/sampler/snapshot.ts';
import { writePage } from '../../src/telemetry/metrics-page.ts';
import { createProcessMetricProducer } from '../../src/telemetry/process-producer.ts';
import { PrometheusTextSerializer } from '../../src/telemetry/prometheus-text.ts';
import { reading, sampledOf } from '../helpers/generated-readings.ts';

const PROCESSES = 2_000;
const store = new SnapshotStore();
const processes = new Map<number, SampledProcess>();
const producer = createProcessMetricProducer({
  store,
  naming: 'prometheus',
  simulationPrefix: 'simulator_',
  scope: { name: 'process-simulator', version: '0.1.0' },
});
const serializer = new PrometheusTextSerializer();
/** the outcome of every page the server wrote, in order */
const pages: Array<Promise<void>> = [];
let server: Server;
let url: string;

before(async () => {
  const readings = fc.sample(
    fc.uniqueArray(reading, { selector: (r) => r.pid, minLength: PROCESSES, maxLength: PROCESSES }),
    {
      numRuns: 1,
      seed: 42,
    },
  )[0];
  for (const r of readings ?? []) processes.set(r.pid, sampledOf(r));
  store.publish({ takenAtMs: 0, durationMs: 0, processes, unreadable: new Map(), departed: new Map() });
  server = createServer((_request, response) => {
    pages.push(
      producer
        .collect()
        .then(({ resourceMetrics }) => writePage(response, serializer, serializer.chunks(resourceMetrics))),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** The page as one text, made without streaming from the readings as they are now. */
async function pageNow(): Promise<Buffer> {
  return new PrometheusTextSerializer().serializeToBuffer((await producer.collect()).resourceMetrics);
}

function request(): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, resolve).once('error', reject));
}

async function body(response: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of response) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Changes every process's readings, as a sample does. */
function sample(round: number): void {
  for (const entry of processes.values()) {
    const s = entry.sample as { rssBytes: number; cpuUserSeconds: number; threads: number };
    s.rssBytes = 1000 * round + entry.sample.pid;
    s.cpuUserSeconds += 0.5;
    s.threads = round;
  }
}

test('a client that reads at once gets the whole page, in more than one chunk', async () => {
  const expected = await pageNow();
  assert.ok(expected.byteLength > 4 * 256 * 1024, `a page of ${expected.byteLength} bytes`);
  const response = await request();
  assert.equal(response.headers['transfer-encoding'], 'chunked');
  assert.ok((await body(response)).equals(expected));
  await pages.at(-1);
});

test('a client that stops reading while the readings change gets the page of the moment it asked', async () => {
  for (const pauseMs of [50, 300]) {
    const expected = await pageNow();
    const response = await request();
    response.pause();
    await sleep(pauseMs);
    sample(pauseMs);
    // The server is waiting for the client (backpressure), not done: the page is larger than the buffers.
    let settled = false;
    void (pages.at(-1) as Promise<void>).then(() => {
      settled = true;
    });
    await sleep(20);
    assert.equal(settled, false, 'the page waits for its client');
    response.resume();
    assert.ok((await body(response)).equals(expected), `paused ${pauseMs} ms`);
    await pages.at(-1);
    assert.ok(!(await pageNow()).equals(expected), 'the readings did change');
  }
});

test('a client that goes away mid-page ends that page, and the next client gets a whole one', async () => {
  for (let i = 0; i < 5; i++) {
    const response = await request();
    await new Promise((resolve) => response.once('data', resolve));
    response.destroy();
    await pages.at(-1);
  }
  const expected = await pageNow();
  assert.ok((await body(await request())).equals(expected));
  await pages.at(-1);
});
