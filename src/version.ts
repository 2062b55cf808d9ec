import { readFileSync } from 'node:fs';

/** The package version, for service.version, the instrumentation scope and /info. */
export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;
