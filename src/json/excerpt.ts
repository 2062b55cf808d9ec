/**
 * Values a user sent, shown back to them in an error, bounded. A request body nested 5,000 deep once
 * took the API down with a stack overflow while its error echoed the value (JSON.stringify recurses),
 * and a profile file's error once quoted the file. Every echo goes through here: a copy cut at a fixed
 * depth, item count and string length for JSON answers, and a one-line description for messages.
 */

/** How much of a value an API answer echoes. */
export const ECHO_LIMITS = {
  /** containers below this depth become a description such as "(object with 3 keys)" */
  depth: 3,
  /** items or keys kept per container */
  items: 20,
  /** characters kept of a string */
  chars: 200,
  /** values kept in all, so 20 x 20 x 20 cannot happen */
  nodes: 200,
} as const;

/** Characters of a string a message quotes before it cuts. */
const MESSAGE_CHARS = 40;

const plural = (count: number, one: string) => `${count} ${one}${count === 1 ? '' : 's'}`;

/** The first `max` characters of `text`, never ending inside a surrogate pair. */
function head(text: string, max: number): string {
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** `text` cut to `max` characters, with the cut and the full length shown. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${head(text, max)}… (${plural(text.length, 'character')})`;
}

function containerSummary(value: object): string {
  if (Array.isArray(value)) return `(array of ${plural(value.length, 'item')})`;
  return `(object with ${plural(Object.keys(value).length, 'key')})`;
}

/**
 * A JSON-safe copy of `value` within {@link ECHO_LIMITS}: deeper containers are replaced by a
 * description, long strings and containers are cut. Recursion is bounded by the depth limit.
 */
export function boundedValue(value: unknown): unknown {
  let budget: number = ECHO_LIMITS.nodes;
  const copy = (item: unknown, depth: number): unknown => {
    budget -= 1;
    if (typeof item === 'string') return truncate(item, ECHO_LIMITS.chars);
    if (typeof item === 'number') return Number.isFinite(item) ? item : String(item);
    if (typeof item === 'boolean' || item === null) return item;
    if (typeof item === 'bigint') return truncate(String(item), ECHO_LIMITS.chars);
    if (typeof item !== 'object') return item === undefined ? null : `(${typeof item})`;
    if (depth >= ECHO_LIMITS.depth || budget <= 0) return containerSummary(item);
    if (Array.isArray(item)) {
      const kept = item.slice(0, Math.min(ECHO_LIMITS.items, Math.max(budget, 0)));
      const out = kept.map((element) => copy(element, depth + 1));
      if (item.length > kept.length) out.push(`(${item.length - kept.length} more)`);
      return out;
    }
    const keys = Object.keys(item);
    const out: Record<string, unknown> = {};
    for (const key of keys.slice(0, Math.min(ECHO_LIMITS.items, Math.max(budget, 0)))) {
      out[truncate(key, ECHO_LIMITS.chars)] = copy((item as Record<string, unknown>)[key], depth + 1);
    }
    if (keys.length > ECHO_LIMITS.items) out['(more)'] = `${keys.length - ECHO_LIMITS.items} more keys`;
    return out;
  };
  return copy(value, 0);
}

/**
 * `value` in a few words for an error message: a number, boolean or null as it is, a one-line string
 * quoted (cut at 40 characters), and only the kind and size of anything else, so that a message never
 * carries a whole object, a multi-line text or a file's lines.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    if (/[\r\n\u2028\u2029]/.test(value)) {
      const lines = value.split(/\r\n|[\r\n\u2028\u2029]/).length;
      return `a text of ${plural(value.length, 'character')} on ${plural(lines, 'line')}`;
    }
    return value.length <= MESSAGE_CHARS
      ? JSON.stringify(value)
      : `${JSON.stringify(head(value, MESSAGE_CHARS))}… (${plural(value.length, 'character')})`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `an array of ${plural(value.length, 'item')}`;
  if (typeof value === 'object') return `an object with ${plural(Object.keys(value).length, 'key')}`;
  return `a ${typeof value}`;
}

/** A key that reads as a field name: letters, digits, `_` and `-`, at most 64 of them. */
const FIELD_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A key the user wrote, for a path or a message: as it is when it reads as a field name, else only its
 * length. A text parsed as YAML turns whole lines into keys (`root:$6$...:::` is a key), so a key is
 * named only when it cannot be a line of something else.
 */
export function keyName(key: string | number, quote = false): string {
  if (typeof key === 'number') return String(key);
  if (FIELD_NAME.test(key)) return quote ? `"${key}"` : key;
  return `(a key of ${plural(key.length, 'character')})`;
}
