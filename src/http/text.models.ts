// What PostgreSQL cannot store, found before a request reaches a grouped insert. A `text` column
// refuses NUL (U+0000) and fails the whole statement, so one tenant's NUL inside a group commit
// would fail every other tenant's message in that group; an unpaired surrogate cannot be encoded
// in UTF-8 and would be stored as U+FFFD, silently changing what the tenant sent.

// ES2024's String.prototype.isWellFormed (native in Node 20, a single pass) is newer than the
// project's `lib`.
const isWellFormedNative = (String.prototype as unknown as { isWellFormed: (this: string) => boolean })
  .isWellFormed;

/** A reason this string cannot be stored as text, or null when it can. */
export function unstorableTextReason(value: string): 'nul' | 'lone_surrogate' | null {
  if (value.includes('\u0000')) return 'nul';
  if (!isWellFormedNative.call(value)) return 'lone_surrogate';
  return null;
}

export interface UnstorableText {
  /** JSON pointer of the offending string (or of the key that holds it). */
  path: string;
  reason: 'nul' | 'lone_surrogate';
}

/**
 * The first string (value or key) anywhere in a parsed JSON value that cannot be stored. Walked
 * with an explicit stack, not recursion: JSON.parse accepts nesting far deeper than the call
 * stack (an 8 MB batch body can nest millions deep), and this runs before schema validation.
 */
export function findUnstorableText(root: unknown): UnstorableText | null {
  const stack: { value: unknown; path: string }[] = [{ value: root, path: '' }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, path } = next;
    if (typeof value === 'string') {
      const reason = unstorableTextReason(value);
      if (reason !== null) return { path, reason };
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: `${path}/${i}` });
    } else if (typeof value === 'object' && value !== null) {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, item] = entries[i]!;
        const itemPath = `${path}/${escapePointer(key)}`;
        const keyReason = unstorableTextReason(key);
        if (keyReason !== null) return { path: itemPath, reason: keyReason };
        stack.push({ value: item, path: itemPath });
      }
    }
  }
  return null;
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * Only a `\u` escape can put NUL or a lone surrogate into a string parsed from valid UTF-8 JSON
 * (raw control characters are invalid JSON, and valid UTF-8 holds no surrogates), so a body
 * without one needs no walk: one native substring scan instead of a check of every string.
 */
export function mayHoldEscapedUnstorable(json: string): boolean {
  return json.includes('\\u');
}

/** The charset parameter of a Content-Type, lower-cased, or null when there is none. */
export function charsetOf(contentType: string | undefined): string | null {
  if (contentType === undefined) return null;
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType);
  return match ? match[1]!.toLowerCase() : null;
}

export function isUtf8Charset(charset: string | null): boolean {
  return charset === null || charset === 'utf-8' || charset === 'utf8';
}
