/**
 * The byte writer of the Prometheus text (prometheus-text.ts): one buffer that grows by doubling, and a
 * sample value written as the exporter package writes it. Hand-written because a scrape of 10,000
 * processes writes ~90,000 values: the common ones (non-negative safe integers) go in digit by digit,
 * without a string per value.
 */

/** Bytes appended to one buffer that grows by doubling; `take()` hands out the filled part. */
export class ByteWriter {
  #buffer: Buffer;
  #length = 0;

  constructor(buffer: Buffer) {
    this.#buffer = buffer;
  }

  /** Starts again, empty, in `buffer` (the filled part taken before is the caller's). */
  restart(buffer: Buffer): void {
    this.#buffer = buffer;
    this.#length = 0;
  }

  #room(bytes: number): void {
    if (this.#length + bytes <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < this.#length + bytes) size *= 2;
    const bigger = Buffer.allocUnsafeSlow(size);
    this.#buffer.copy(bigger, 0, 0, this.#length);
    this.#buffer = bigger;
  }

  /**
   * TypedArray's set, not Buffer's copy: a page copies ~300,000 small buffers (names, labels), and
   * copy goes through Node's checks and a C++ call each time, about twice as slow for ~300 bytes.
   */
  bytes(bytes: Buffer): void {
    this.#room(bytes.length);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** One byte (a newline). */
  byte(byte: number): void {
    this.#room(1);
    this.#buffer[this.#length++] = byte;
  }

  /** the first `end` bytes of `bytes` */
  prefix(bytes: Buffer, end: number): void {
    this.#room(end);
    bytes.copy(this.#buffer, this.#length, 0, end);
    this.#length += end;
  }

  /**
   * ` value\n`-less: a space and the value as JavaScript writes it (`${value}`); a non-negative safe
   * integer (most values: bytes, counts) digit by digit, without a string per point.
   */
  spaceAndValue(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0 || Object.is(value, -0)) {
      this.ascii(` ${valueString(value)}`);
      return;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    this.#room(digits + 1);
    this.#buffer[this.#length] = 0x20;
    let at = this.#length + digits;
    for (let rest = value; at > this.#length; rest = Math.floor(rest / 10))
      this.#buffer[at--] = 0x30 + (rest % 10);
    this.#length += digits + 1;
  }

  /** ASCII text (numbers, spaces, newlines): one byte per char */
  ascii(text: string): void {
    this.#room(text.length);
    this.#length += this.#buffer.write(text, this.#length, 'latin1');
  }

  text(text: string): void {
    const bytes = Buffer.byteLength(text);
    this.#room(bytes);
    this.#length += this.#buffer.write(text, this.#length, 'utf8');
  }

  get length(): number {
    return this.#length;
  }

  take(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }
}

/** A sample value as the package writes it: `+Inf`, `-Inf`, else as JavaScript prints it. */
export function valueString(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return `${value}`;
}
