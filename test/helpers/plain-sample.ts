/**
 * A sample's fields as a plain object: the reader's samples keep their numbers in columns behind
 * accessors (src/proc/column-sample.ts), which a spread does not copy.
 */
import type { ProcessSample } from '../../src/proc/reader.ts';

export function plainSample(sample: ProcessSample): ProcessSample {
  const json = (sample as Partial<{ toJSON(): ProcessSample }>).toJSON;
  return json ? json.call(sample) : { ...sample };
}
