/**
 * JSON for input from users (API bodies, .json profile files), stricter than JSON.parse in three ways:
 * a key given twice in one object is refused (JSON.parse silently keeps the last, so `{"count": 1,
 * "count": 9000}` would mean 9000 to us and 1 to whatever checked the text; a text with a syntax error
 * anywhere is refused for that instead, as JSON.parse refuses it), nesting deeper than a limit
 * is refused before anything else looks at the value, and a syntax error names its line and column but
 * quotes nothing (V8's message quotes the text around the error, which for a file could be a secret).
 *
 * Written by hand because no JSON library does all of it without recursion: JSON.parse keeps the last
 * duplicate, and the visitors of jsonc-parser or a YAML composer recurse once per level, which is what
 * a deeply nested input is made to overflow. This is one linear pass with an explicit stack; once it
 * has accepted the text, JSON.parse (iterative in V8) builds the value.
 */

/** Why a JSON text was refused. */
export type JsonRefusal = 'syntax' | 'too_deep' | 'duplicate_key';

/** A refused JSON text: where, and why, without quoting the text. */
export class JsonInputError extends Error {
  override readonly name = 'JsonInputError';
  readonly reason: JsonRefusal;
  /** 1-based line and column (in UTF-16 code units) of the problem */
  readonly line: number;
  readonly column: number;
  /** keys and indexes leading to the object that holds the duplicate, or to the container too deep */
  readonly path: ReadonlyArray<string | number>;
  /** the key given twice (reason `duplicate_key`) */
  readonly key: string | undefined;
  /** the nesting limit (reason `too_deep`) */
  readonly maxDepth: number;

  constructor(
    reason: JsonRefusal,
    description: string,
    where: { line: number; column: number; path: ReadonlyArray<string | number> },
    extra: { key?: string; maxDepth: number },
  ) {
    super(`${description} at line ${where.line}, column ${where.column}`);
    this.reason = reason;
    this.line = where.line;
    this.column = where.column;
    this.path = where.path;
    this.key = extra.key;
    this.maxDepth = extra.maxDepth;
  }
}

interface Frame {
  /** keys seen so far; undefined for an array */
  keys: Set<string> | undefined;
  /** the current key (object) or index (array), for paths */
  at: string | number;
}

const WHITESPACE = /[ \t\n\r]*/y;
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON strings may not hold raw control characters; the run stops at them
const STRING_RUN = /[^"\\\u0000-\u001f]*/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPE = /["\\/bfnrt]|u[0-9a-fA-F]{4}/y;

/**
 * Parses `text` as JSON, refusing duplicate keys and nesting deeper than `maxDepth` containers.
 * @throws JsonInputError naming the line and column (and the key and its path for a duplicate)
 */
export function parseStrictJson(text: string, maxDepth: number): unknown {
  const stack: Frame[] = [];
  let pos = 0;

  /** the first key given twice: refused once the whole text is known to be JSON (see below) */
  let duplicate: JsonInputError | undefined;

  const refusalAt = (reason: JsonRefusal, description: string, at = pos, key?: string): JsonInputError => {
    let line = 1;
    let lineStart = 0;
    for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) {
      line += 1;
      lineStart = i + 1;
    }
    // A duplicate is named by the path to the object holding it; a container too deep by its own path.
    const frames = reason === 'too_deep' ? stack : stack.slice(0, -1);
    return new JsonInputError(
      reason,
      description,
      { line, column: at - lineStart + 1, path: frames.map((frame) => frame.at) },
      key === undefined ? { maxDepth } : { key, maxDepth },
    );
  };
  const fail = (reason: JsonRefusal, description: string, at = pos): never => {
    throw refusalAt(reason, description, at);
  };
  const skipWhitespace = () => {
    WHITESPACE.lastIndex = pos;
    WHITESPACE.exec(text);
    pos = WHITESPACE.lastIndex;
  };
  /** Scans the string starting at `pos` (a quote); returns its raw text with the quotes. */
  const scanString = (): string => {
    const start = pos;
    pos += 1;
    for (;;) {
      STRING_RUN.lastIndex = pos;
      STRING_RUN.exec(text);
      pos = STRING_RUN.lastIndex;
      const char = text[pos];
      if (char === '"') {
        pos += 1;
        return text.slice(start, pos);
      }
      if (char === '\\') {
        ESCAPE.lastIndex = pos + 1;
        if (!ESCAPE.test(text)) fail('syntax', 'bad escape sequence in a string', pos);
        pos = ESCAPE.lastIndex;
        continue;
      }
      if (char === undefined) fail('syntax', 'unterminated string', start);
      fail('syntax', 'control character in a string (escape it)');
    }
  };
  /** Reads an object key at `pos` and refuses it if the object already has it. */
  const readKey = () => {
    if (text[pos] !== '"') fail('syntax', 'expected a double-quoted key');
    const keyStart = pos;
    const raw = scanString();
    const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    const frame = stack.at(-1) as Frame;
    const keys = frame.keys as Set<string>;
    // A text that is no JSON at all is refused as such, whatever it repeats before its syntax error:
    // the first duplicate is kept, and refused only at the end.
    if (keys.has(key))
      duplicate ??= refusalAt('duplicate_key', 'a key given twice in one object', keyStart, key);
    keys.add(key);
    frame.at = key;
    skipWhitespace();
    if (text[pos] !== ':') fail('syntax', "expected ':' after a key");
    pos += 1;
  };
  const open = (keys: Set<string> | undefined) => {
    if (stack.length >= maxDepth) {
      fail('too_deep', `nesting deeper than ${maxDepth} levels`);
    }
    stack.push({ keys, at: keys ? '' : 0 });
    pos += 1;
  };

  // Each turn reads one value, then closes containers and reads separators up to the next value.
  for (;;) {
    skipWhitespace();
    const char = text[pos];
    if (char === '{' || char === '[') {
      open(char === '{' ? new Set() : undefined);
      skipWhitespace();
      if (text[pos] === (char === '{' ? '}' : ']')) {
        stack.pop();
        pos += 1;
      } else {
        if (char === '{') readKey();
        continue;
      }
    } else if (char === '"') {
      scanString();
    } else if (char === 't' || char === 'f' || char === 'n') {
      const word = char === 't' ? 'true' : char === 'f' ? 'false' : 'null';
      if (!text.startsWith(word, pos)) fail('syntax', 'unexpected word (expected true, false or null)');
      pos += word.length;
    } else if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) {
      NUMBER.lastIndex = pos;
      if (!NUMBER.test(text)) fail('syntax', 'bad number');
      pos = NUMBER.lastIndex;
    } else if (char === undefined) {
      fail('syntax', 'unexpected end of the text (a value is missing)');
    } else {
      fail('syntax', 'unexpected character (expected a value)');
    }

    // After a value: separators and closing brackets, until another value starts or the text ends.
    for (;;) {
      skipWhitespace();
      const frame = stack.at(-1);
      if (!frame) {
        if (pos < text.length) fail('syntax', 'unexpected text after the end of the value');
        if (duplicate) throw duplicate;
        return JSON.parse(text);
      }
      const next = text[pos];
      const close = frame.keys ? '}' : ']';
      if (next === close) {
        stack.pop();
        pos += 1;
        continue;
      }
      if (next !== ',') {
        if (next === undefined) fail('syntax', `unexpected end of the text (expected ',' or '${close}')`);
        fail('syntax', `expected ',' or '${close}'`);
      }
      pos += 1;
      skipWhitespace();
      if (frame.keys) readKey();
      else frame.at = (frame.at as number) + 1;
      break;
    }
  }
}
