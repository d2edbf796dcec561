/**
 * The syntax errors of Go's `encoding/json` (its scanner, `json.Unmarshal`), word for word:
 * dockerd answers a malformed `filters` parameter with them, e.g. `invalid character 'o' in
 * literal null (expecting 'u')` or `unexpected end of JSON input`. JavaScript's JSON.parse
 * accepts and rejects the same texts but words its errors differently; this scanner only
 * words them. It walks the UTF-8 bytes as Go does (a non-ASCII byte is named as Go names it).
 */

type Step = (c: number) => Step | undefined;

/** Thrown inside the scanner with Go's message. */
class GoSyntaxError extends Error {}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/** Go's quoteChar: the byte as a one-character Go string literal between single quotes. */
export function goQuoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const escapes: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v', 0x5c: '\\\\' };
  if (escapes[c]) return `'${escapes[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  // string(byte) in Go is the code point U+0000..U+00FF; strconv.Quote keeps printable ones.
  if (c >= 0x80 && (c < 0xa1 || c === 0xad)) return `'\\u00${c.toString(16).padStart(2, '0')}'`;
  return `'${String.fromCharCode(c)}'`;
}

const fail = (c: number, context: string): never => {
  throw new GoSyntaxError(`invalid character ${goQuoteChar(c)} ${context}`);
};

/**
 * Go's message for the first syntax error in `text`, or undefined when `text` is valid JSON
 * (`json.Unmarshal`: the whole text is one value). Type errors, which Go reports after the
 * syntax check, are not this module's concern.
 */
export function goJsonSyntaxError(text: string): string | undefined {
  const scanned = scan(Buffer.from(text, 'utf8'), false);
  return 'error' in scanned ? scanned.error : undefined;
}

/**
 * What Go's `json.Decoder.Decode` (dockerd's request bodies) makes of `body`: the byte length
 * of the first JSON value (what follows it is never read), `empty` when there is none (io.EOF),
 * or the error: the scanner's message, or `unexpected EOF` for a value cut short.
 */
export function goJsonDecodeFirst(body: Buffer): { end: number } | { empty: true } | { error: string } {
  return scan(body, true);
}

function scan(bytes: Buffer, firstValueOnly: boolean): { end: number } | { empty: true } | { error: string } {
  const stack: Array<'key' | 'value' | 'array'> = [];
  let endTop = false;
  /** Set when the first value ended (Decoder mode): the index of the byte after it. */
  let closedAt = -1;
  let index = 0;

  const endValue = (c: number): Step | undefined => {
    if (stack.length === 0) {
      endTop = true;
      if (firstValueOnly) {
        closedAt = index;
        return undefined;
      }
      return endTopLevel(c);
    }
    if (isSpace(c)) return endValue;
    const top = stack[stack.length - 1];
    if (top === 'key') {
      if (c === 0x3a) {
        stack[stack.length - 1] = 'value';
        return beginValue;
      }
      return fail(c, 'after object key');
    }
    if (top === 'value') {
      if (c === 0x2c) {
        stack[stack.length - 1] = 'key';
        return beginString;
      }
      if (c === 0x7d) return close();
      return fail(c, 'after object key:value pair');
    }
    if (c === 0x2c) return beginValue;
    if (c === 0x5d) return close();
    return fail(c, 'after array element');
  };
  /** `}` or `]`: the innermost object or array ends (in Decoder mode, the first value may end here). */
  const close = (): Step | undefined => {
    stack.pop();
    if (firstValueOnly && stack.length === 0) {
      endTop = true;
      closedAt = index + 1;
      return undefined;
    }
    return endValue;
  };
  const endTopLevel = (c: number): Step => (isSpace(c) ? endTopLevel : fail(c, 'after top-level value'));
  const beginValue: Step = (c) => {
    if (isSpace(c)) return beginValue;
    switch (c) {
      case 0x7b: stack.push('key'); return beginStringOrEmpty;
      case 0x5b: stack.push('array'); return beginValueOrEmpty;
      case 0x22: return inString;
      case 0x2d: return neg;
      case 0x30: return zero;
      case 0x74: return literal('true', 1);
      case 0x66: return literal('false', 1);
      case 0x6e: return literal('null', 1);
      default:
        if (c >= 0x31 && c <= 0x39) return digits;
        return fail(c, 'looking for beginning of value');
    }
  };
  const beginValueOrEmpty: Step = (c) => {
    if (isSpace(c)) return beginValueOrEmpty;
    if (c === 0x5d) return endValue(c);
    return beginValue(c);
  };
  const beginStringOrEmpty: Step = (c) => {
    if (isSpace(c)) return beginStringOrEmpty;
    if (c === 0x7d) {
      stack[stack.length - 1] = 'value';
      return endValue(c);
    }
    return beginString(c);
  };
  const beginString: Step = (c) => {
    if (isSpace(c)) return beginString;
    if (c === 0x22) return inString;
    return fail(c, 'looking for beginning of object key string');
  };
  const inString: Step = (c) => {
    if (c === 0x22) return endValue;
    if (c === 0x5c) return inEscape;
    if (c < 0x20) return fail(c, 'in string literal');
    return inString;
  };
  const inEscape: Step = (c) => {
    if ('bfnrt\\/"'.includes(String.fromCharCode(c))) return inString;
    if (c === 0x75) return hex(4);
    return fail(c, 'in string escape code');
  };
  const hex = (left: number): Step => (c) => {
    if (!isHex(c)) return fail(c, 'in \\u hexadecimal character escape');
    return left === 1 ? inString : hex(left - 1);
  };
  const neg: Step = (c) => {
    if (c === 0x30) return zero;
    if (c >= 0x31 && c <= 0x39) return digits;
    return fail(c, 'in numeric literal');
  };
  const digits: Step = (c) => (isDigit(c) ? digits : zero(c));
  const zero: Step = (c) => {
    if (c === 0x2e) return dot;
    if (c === 0x65 || c === 0x45) return exponent;
    return endValue(c);
  };
  const dot: Step = (c) => (isDigit(c) ? fraction : fail(c, 'after decimal point in numeric literal'));
  const fraction: Step = (c) => {
    if (isDigit(c)) return fraction;
    if (c === 0x65 || c === 0x45) return exponent;
    return endValue(c);
  };
  const exponent: Step = (c) => (c === 0x2b || c === 0x2d ? exponentSign : exponentSign(c));
  const exponentSign: Step = (c) => (isDigit(c) ? exponentDigits : fail(c, 'in exponent of numeric literal'));
  const exponentDigits: Step = (c) => (isDigit(c) ? exponentDigits : endValue(c));
  const literal = (word: string, at: number): Step => (c) => {
    if (c !== word.charCodeAt(at)) return fail(c, `in literal ${word} (expecting '${word[at]}')`);
    return at === word.length - 1 ? endValue : literal(word, at + 1);
  };

  try {
    let step: Step | undefined = beginValue;
    let seenValue = false;
    for (; index < bytes.length; index++) {
      const c = bytes[index];
      if (!isSpace(c)) seenValue = true;
      step = step?.(c);
      if (closedAt >= 0) return { end: closedAt };
    }
    // End of input: Go feeds one space; a value still open is "unexpected end" (the Decoder
    // says "unexpected EOF" whatever that space step complained of).
    if (firstValueOnly) {
      try {
        step?.(0x20);
      } catch (err) {
        if (!(err instanceof GoSyntaxError)) throw err;
      }
      if (closedAt >= 0) return { end: closedAt };
      return seenValue ? { error: 'unexpected EOF' } : { empty: true };
    }
    if (!endTop) step?.(0x20);
    if (!endTop) return { error: 'unexpected end of JSON input' };
    return { end: bytes.length };
  } catch (err) {
    if (err instanceof GoSyntaxError) return { error: err.message };
    throw err;
  }
}
