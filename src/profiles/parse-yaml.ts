/**
 * YAML profile files, parsed in the yaml package's stages so that each limit is checked before the
 * stage it protects:
 * - nesting depth on the syntax tree (the parser is iterative; the composer recurses once per level and
 *   overflowed the stack near 800 levels);
 * - duplicate keys in one linear pass over the composed document: the package's own `uniqueKeys`
 *   compares every key with every earlier one, which took 400 s on a 1 MiB file of distinct keys; it
 *   also treats `1:` and `"1":` as different keys, though both become the same property in the profile;
 * - error messages from the error code and position only: the package's messages quote the source
 *   lines around the error (a file named by mistake, say /etc/shadow, would be echoed into the log).
 */
import {
  Composer,
  type CST,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
  type YAMLError,
} from 'yaml';
import { keyName } from '../json/excerpt.ts';
import { ProfileFileError } from './read-file.ts';

/** How many aliases a document may expand (the package's default, against "billion laughs"). */
const MAX_ALIAS_COUNT = 100;

/** Plain-words descriptions of the package's error codes, used when its own message names file content. */
const CODE_TEXT: Record<string, string> = {
  ALIAS_PROPS: 'an alias cannot have an anchor or a tag',
  BAD_ALIAS: 'bad alias',
  BAD_COLLECTION_TYPE: 'bad collection type',
  BAD_DIRECTIVE: 'bad directive',
  BAD_DQ_ESCAPE: 'bad escape sequence in a double-quoted string',
  BAD_INDENT: 'bad indentation',
  BAD_PROP_ORDER: 'anchor and tag in the wrong order',
  BAD_SCALAR_START: 'a plain value cannot start with this character',
  BLOCK_AS_IMPLICIT_KEY: 'a block collection cannot be a key',
  BLOCK_IN_FLOW: 'a block collection inside a flow collection',
  DUPLICATE_KEY: 'a key given twice in one mapping',
  IMPOSSIBLE: 'unparseable input',
  KEY_OVER_1024_CHARS: 'a key longer than 1024 characters',
  MISSING_CHAR: 'a character is missing (a closing quote or bracket, or a value after a key)',
  MULTILINE_IMPLICIT_KEY: 'a key spread over several lines',
  MULTIPLE_ANCHORS: 'several anchors on one value',
  MULTIPLE_DOCS: 'more than one document',
  MULTIPLE_TAGS: 'several tags on one value',
  NON_STRING_KEY: 'a key that is not a plain value',
  TAB_AS_INDENT: 'a tab used as indentation',
  TAG_RESOLVE_FAILED: 'unknown tag',
  UNEXPECTED_TOKEN: 'unexpected token',
};

/** A message head kept as it is only when it is plain words (no quotes, colons or symbols from the file). */
const PLAIN_WORDS = /^[A-Za-z][A-Za-z ,()'-]{0,120}$/;

function errorText(error: YAMLError): string {
  const head = error.message.split(/ at line \d+|\n/)[0] ?? '';
  return PLAIN_WORDS.test(head)
    ? head
    : (CODE_TEXT[error.code] ?? error.code.toLowerCase().replaceAll('_', ' '));
}

/** The deepest nesting of collections in the syntax tree, or the first collection past `maxDepth`. */
function firstTooDeep(tokens: readonly CST.Token[], maxDepth: number): CST.Token | undefined {
  const stack: Array<[CST.Token, number]> = tokens.map((token) => [token, 0]);
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const [token, depth] = entry;
    if (token.type === 'document') {
      if (token.value) stack.push([token.value, depth]);
      continue;
    }
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection')
      continue;
    if (depth + 1 > maxDepth) return token;
    for (const item of token.items) {
      if ('key' in item && item.key) stack.push([item.key, depth + 1]);
      if (item.value) stack.push([item.value, depth + 1]);
    }
  }
  return undefined;
}

type Path = Array<string | number>;

/** A path for a message, each key named only if it reads as a field name. */
export const dotted = (path: ReadonlyArray<string | number>) => path.map((part) => keyName(part)).join('.');

/**
 * Parses a YAML profile file's text (or another file's, `kind`, in messages).
 * @throws ProfileFileError naming the line and column (and the key and its path for a duplicate)
 */
export function parseProfileYaml(
  path: string,
  text: string,
  maxDepth: number,
  kind = 'profile file',
): unknown {
  const lines = new LineCounter();
  const where = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return `at line ${line}, column ${col}`;
  };
  const tokens = [...new Parser(lines.addNewLine).parse(text)];
  const deep = firstTooDeep(tokens, maxDepth);
  if (deep && 'offset' in deep) {
    throw new ProfileFileError(path, `nests deeper than ${maxDepth} levels ${where(deep.offset)}`, '', kind);
  }
  const documents = [...new Composer({ uniqueKeys: false }).compose(tokens, true, text.length)];
  if (documents.length > 1) throw new ProfileFileError(path, 'holds more than one YAML document', '', kind);
  const document = documents[0];
  if (!document) return null;
  const error = document.errors[0];
  if (error)
    throw new ProfileFileError(
      path,
      `is not valid YAML: ${errorText(error)} ${where(error.pos[0])}`,
      '',
      kind,
    );

  // One pass over the composed tree with an explicit stack, each mapping's keys in a Set.
  const stack: Array<[unknown, Path]> = [[document.contents, []]];
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const [node, at] = entry;
    if (isSeq(node)) {
      node.items.forEach((item, index) => {
        stack.push([item, [...at, index]]);
      });
    } else if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key;
        const offset = (key as { range?: [number] } | null)?.range?.[0] ?? node.range?.[0] ?? 0;
        if (!isScalar(key)) {
          throw new ProfileFileError(
            path,
            `has a key that is not a plain value ${where(offset)}`,
            dotted(at),
            kind,
          );
        }
        const name = key.value === null ? '' : String(key.value);
        if (seen.has(name)) {
          const inside = at.length > 0 ? ` in ${dotted(at)}` : '';
          throw new ProfileFileError(
            path,
            `gives the key ${keyName(name, true)} twice${inside} ${where(offset)}`,
            dotted([...at, name]),
            kind,
          );
        }
        seen.add(name);
        if (!isAlias(pair.value)) stack.push([pair.value, [...at, name]]);
      }
    }
  }
  try {
    return document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // e.g. an alias expanded more than MAX_ALIAS_COUNT times; the message names no content
    const text = (error as Error).message.split(/\n/)[0] ?? '';
    throw new ProfileFileError(
      path,
      `is not a usable YAML document: ${PLAIN_WORDS.test(text) ? text : 'bad alias'}`,
      '',
      kind,
    );
  }
}
