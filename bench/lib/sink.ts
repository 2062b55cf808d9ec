/** Starts bench/otlp-sink.ts as a child process and collects the size of every request it receives. */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SINK = fileURLToPath(new URL('../otlp-sink.ts', import.meta.url));

export interface OtlpSink {
  /** http://127.0.0.1:PORT, an OTLP/gRPC endpoint */
  readonly endpoint: string;
  readonly pid: number;
  /** sizes in bytes of the requests received since the last call */
  take(): number[];
  /**
   * Resolves once the report of every request the sink has answered so far has arrived: after an
   * export resolves, its requests are all in the next take(), none of them late in a later one.
   */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  const child: ChildProcess = fork(SINK, [], {
    execPath: process.execPath,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let received: number[] = [];
  let nextSync = 0;
  const synced = new Map<number, () => void>();
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`the OTLP sink exited with code ${code} before listening`)),
    );
    child.on('message', (message: { type: string; port?: number; bytes?: number; id?: number }) => {
      if (message.type === 'listening') resolve(message.port as number);
      else if (message.type === 'request') received.push(message.bytes as number);
      else if (message.type === 'synced') {
        synced.get(message.id as number)?.();
        synced.delete(message.id as number);
      }
    });
  });
  child.removeAllListeners('exit');
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    sync() {
      const id = nextSync++;
      return new Promise<void>((resolve) => {
        synced.set(id, resolve);
        child.send({ type: 'sync', id });
      });
    },
    take() {
      const taken = received;
      received = [];
      return taken;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
