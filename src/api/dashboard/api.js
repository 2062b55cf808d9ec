/**
 * The control API as seen from the page: JSON in and out, the bearer token (kept in this browser's
 * localStorage) on changes, and the API's error message kept for the person who caused it.
 */

const TOKEN_KEY = 'process-simulator.token';

export const token = {
  get: () => localStorage.getItem(TOKEN_KEY) ?? '',
  set: (value) => (value ? localStorage.setItem(TOKEN_KEY, value) : localStorage.removeItem(TOKEN_KEY)),
};

/** A refusal of the API, with its one error shape flattened into a readable message. */
export class ApiCallError extends Error {
  constructor(status, body) {
    const error = body?.error;
    const issues = (error?.issues ?? [])
      .map(
        (issue) =>
          `${issue.field}: ${issue.expected}${'value' in issue ? ` (got ${JSON.stringify(issue.value)})` : ''}`,
      )
      .join('; ');
    super(`${status} ${error?.message ?? 'request failed'}${issues ? ` – ${issues}` : ''}`);
    this.status = status;
  }
}

/** One request; resolves to the parsed JSON (undefined for an empty body), rejects with ApiCallError. */
export async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const secret = token.get();
  if (secret && method !== 'GET') headers.authorization = `Bearer ${secret}`;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!response.ok) throw new ApiCallError(response.status, data);
  return data;
}
