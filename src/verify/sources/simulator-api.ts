/**
 * A running simulator's control API, as the CLI's verifier uses it: its simulations, the ground truth
 * of one, a verification run by the simulator itself (against its OTLP sink), and handing a report
 * over so that the dashboard shows it. Answers are checked against the schemas before they are used,
 * so a URL that is not a simulator fails clearly instead of comparing nonsense.
 */
import type { z } from 'zod';
import { SourceError } from '../errors.ts';
import type { Report } from '../report.ts';
import type { TruthRequest } from '../run.ts';
import { groundTruthSchema, reportSchema } from '../schemas.ts';
import type { GroundTruth } from '../truth.ts';
import { fetchJson, safeUrl } from './http.ts';

export interface SimulationSummary {
  id: string;
  name: string;
  state: string;
  started_at: string | null;
}

export interface SimulatorApi {
  readonly url: string;
  simulations(): Promise<SimulationSummary[]>;
  groundTruth(id: string, request: TruthRequest): Promise<GroundTruth>;
  /** a verification the simulator runs itself (its OTLP sink) */
  verify(
    id: string,
    body: { source: { type: 'otlp-sink' }; expectations?: unknown; wait?: string },
    timeoutMs: number,
  ): Promise<Report>;
  putReport(id: string, report: Report): Promise<void>;
}

interface ApiErrorBody {
  error?: {
    message?: string;
    code?: string;
    issues?: Array<{ field: string; expected: string; value?: unknown }>;
  };
}

export function simulatorApi(baseUrl: string, token: string | undefined): SimulatorApi {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new SourceError('refused', baseUrl, `--simulator is not a URL: ${JSON.stringify(baseUrl)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new SourceError(
      'refused',
      baseUrl,
      `--simulator must be an http:// or https:// URL, got ${safeUrl(base)}`,
    );
  const where = safeUrl(base).replace(/\/$/, '');
  const headers = (body: boolean): Record<string, string> => ({
    ...(body ? { 'content-type': 'application/json' } : {}),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  });
  const call = async (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, timeoutMs = 120_000) => {
    const url = new URL(path.replace(/^\//, ''), `${where}/`);
    const answer = await fetchJson(url, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs,
    });
    if (answer.status >= 400) {
      const error = (answer.body as ApiErrorBody | undefined)?.error;
      const issues = (error?.issues ?? [])
        .map(
          (issue) =>
            `${issue.field}: ${issue.expected}${'value' in issue ? ` (got ${JSON.stringify(issue.value)})` : ''}`,
        )
        .join('; ');
      throw new SourceError(
        'refused',
        where,
        `the simulator at ${where} answered ${answer.status} to ${method} ${url.pathname}: ${error?.message ?? 'no error message'}${issues ? ` (${issues})` : ''}`,
      );
    }
    return answer.body;
  };
  const parse = <T>(schema: z.ZodType<T>, value: unknown, what: string): T => {
    const result = schema.safeParse(value);
    if (!result.success)
      throw new SourceError(
        'refused',
        where,
        `${where} is not a process-simulator (its ${what} does not have the expected shape: ${result.error.message.slice(0, 300)})`,
      );
    return result.data;
  };
  return {
    url: where,
    async simulations() {
      const body = (await call('GET', '/api/v1/simulations')) as
        | { simulations?: SimulationSummary[] }
        | undefined;
      if (!Array.isArray(body?.simulations))
        throw new SourceError(
          'refused',
          where,
          `${where} is not a process-simulator (GET /api/v1/simulations has no list)`,
        );
      return body.simulations;
    },
    async groundTruth(id, request) {
      const query = `?since=${Math.max(0, Math.floor(request.sinceMs))}&processes=${request.processes}`;
      const body = await call('GET', `/api/v1/simulations/${encodeURIComponent(id)}/ground-truth${query}`);
      return parse(groundTruthSchema, body, 'ground truth');
    },
    async verify(id, body, timeoutMs) {
      const answer = await call(
        'POST',
        `/api/v1/simulations/${encodeURIComponent(id)}/verify`,
        body,
        timeoutMs,
      );
      return parse(reportSchema, answer, 'report');
    },
    async putReport(id, report) {
      await call('PUT', `/api/v1/simulations/${encodeURIComponent(id)}/verification`, report);
    },
  };
}
