/** Command-line arguments of `npm run bench`, checked with messages that name the bad value. */
import { parseDuration } from '../../src/profiles/units.ts';

export interface BenchArgs {
  counts: number[] | undefined;
  churnPerSecond: number | undefined;
  forMs: number;
  sigkillTrials: number | undefined;
  /** run the chaos soak this long */
  chaosSoakMs: number | undefined;
  /** process counts of the pipeline verification benchmark */
  verifyCounts: number[] | undefined;
  /** synthetic processes of the OTLP shape benchmark */
  otlpShapeCount: number | undefined;
  /** processes of the whole-engine profile benchmark */
  engineCount: number | undefined;
  /** true when --for was given (its default differs per mode) */
  forGiven: boolean;
  repeats: number;
  compare: boolean;
  collectorScrapes: number;
  collectorIntervalSeconds: number;
  /** write the figures into bench/results.md @default true */
  write: boolean;
}

export const USAGE = `npm run bench -- [mode] [options]
modes (one or more; default --counts 100,1000,5000):
  --counts N[,N...]      cold start of N high-cardinality processes each, then every figure
  --churn R/s            R process starts and exits per second ...
  --for DURATION         ... sustained this long (e.g. 2m, 30m; default 2m; --engine: 60s)
  --sigkill-trials N     SIGKILL the simulator N times, check that every child is gone within 1 s
  --chaos-soak DURATION  chaos profile and API chaos at high rates, a SIGTERM every few minutes (e.g. 30m)
  --verify N[,N...]      one pipeline verification of N processes through Prometheus and the OTLP sink
  --otlp-shape N         the CPU, requests and bytes of one OTLP export of N synthetic processes in each
                         OTLP_PROCESS_ATTRIBUTES shape (--repeats exports each, nothing spawned)
  --engine N             the whole engine as a child process (npm start's flags plus --cpu-prof) with N
                         processes, 10 s intervals, OTLP and one /metrics scrape per interval: CPU per
                         part from its profile over --for (default 60s), RSS, ratio to the C reader
options:
  --repeats N            repeats per figure, medians reported (default 5)
  --no-compare           skip the C reader, collector, systeminformation and pidusage comparisons
  --collector-scrapes N  hostmetrics scrapes measured (default 3)
  --collector-interval S hostmetrics collection interval in seconds (default 10)
  --no-write             print only; leave bench/results.md alone`;

function positiveInteger(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || value <= 0) {
    throw new Error(`${flag} expects a positive integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = {
    counts: undefined,
    churnPerSecond: undefined,
    forMs: 120_000,
    sigkillTrials: undefined,
    chaosSoakMs: undefined,
    verifyCounts: undefined,
    otlpShapeCount: undefined,
    engineCount: undefined,
    forGiven: false,
    repeats: 5,
    compare: true,
    collectorScrapes: 3,
    collectorIntervalSeconds: 10,
    write: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = () => argv[++i];
    switch (flag) {
      case '--counts': {
        const text = value();
        args.counts = (text ?? '').split(',').map((part) => positiveInteger('--counts', part.trim()));
        break;
      }
      case '--churn': {
        const text = value();
        const match = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(text ?? '');
        if (!match || Number(match[1]) <= 0)
          throw new Error(`--churn expects a rate such as 100/s, got ${JSON.stringify(text)}`);
        args.churnPerSecond = Number(match[1]);
        break;
      }
      case '--for': {
        const text = value() ?? '';
        try {
          args.forMs = parseDuration(text);
          args.forGiven = true;
        } catch (error) {
          throw new Error(
            `--for expects a duration such as 2m or 30m, got ${JSON.stringify(text)}: ${(error as Error).message}`,
          );
        }
        break;
      }
      case '--chaos-soak': {
        const text = value() ?? '';
        try {
          args.chaosSoakMs = parseDuration(text);
        } catch (error) {
          throw new Error(
            `--chaos-soak expects a duration such as 30m, got ${JSON.stringify(text)}: ${(error as Error).message}`,
          );
        }
        break;
      }
      case '--sigkill-trials':
        args.sigkillTrials = positiveInteger(flag, value());
        break;
      case '--verify': {
        const text = value();
        args.verifyCounts = (text ?? '').split(',').map((part) => positiveInteger('--verify', part.trim()));
        break;
      }
      case '--otlp-shape':
        args.otlpShapeCount = positiveInteger(flag, value());
        break;
      case '--engine':
        args.engineCount = positiveInteger(flag, value());
        if (args.engineCount <= 100)
          throw new Error(
            `--engine expects more than 100 processes (the baseline engine runs 100), got ${args.engineCount}`,
          );
        break;
      case '--repeats':
        args.repeats = positiveInteger(flag, value());
        break;
      case '--collector-scrapes':
        args.collectorScrapes = positiveInteger(flag, value());
        break;
      case '--collector-interval':
        args.collectorIntervalSeconds = positiveInteger(flag, value());
        break;
      case '--no-compare':
        args.compare = false;
        break;
      case '--no-write':
        args.write = false;
        break;
      case '--help':
      case '-h':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown argument ${JSON.stringify(flag)}\n${USAGE}`);
    }
  }
  if (
    args.counts === undefined &&
    args.churnPerSecond === undefined &&
    args.sigkillTrials === undefined &&
    args.chaosSoakMs === undefined &&
    args.verifyCounts === undefined &&
    args.otlpShapeCount === undefined &&
    args.engineCount === undefined
  ) {
    args.counts = [100, 1000, 5000];
  }
  return args;
}
