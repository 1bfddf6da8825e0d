// The one way the console talks to Hongyan: same-origin fetch with the session cookie, the CSRF
// token echoed on changes, and the API's error shape turned into an ApiError with its stable code.
import { lookup } from './i18n/lang.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function csrfToken(): string {
  const match = /(?:^|;\s*)hy_csrf=([^;]*)/.exec(document.cookie);
  return match ? decodeURIComponent(match[1]!) : '';
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

/** A response's body, or its error as an ApiError with the API's stable code. */
async function answer<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T;
  const parsed = parseBody(await res.text());
  if (!res.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, error?.code ?? `http.${res.status}`, error?.message ?? res.statusText);
  }
  return parsed as T;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return answer<T>(res);
}

export const get = <T = unknown>(path: string, query?: Query) => api<T>('GET', withQuery(path, query));
export const post = <T = unknown>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});
export const patch = <T = unknown>(path: string, body: unknown) => api<T>('PATCH', path, body);
export const del = (path: string) => api<void>('DELETE', path);

/** A multipart upload (a file and form fields), answered like any other call. */
export async function upload<T = unknown>(path: string, form: FormData): Promise<T> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'x-csrf-token': csrfToken() },
    credentials: 'same-origin',
    body: form,
  });
  return answer<T>(res);
}

/** A file sent as the raw body (a proof document), typed by the file's own type. */
export async function uploadRaw<T = unknown>(path: string, file: Blob): Promise<T> {
  const res = await fetch(path, {
    method: 'POST',
    headers: {
      'x-csrf-token': csrfToken(),
      'content-type': file.type || 'application/octet-stream',
    },
    credentials: 'same-origin',
    body: file,
  });
  return answer<T>(res);
}

/** A cursor page as the list routes answer it. */
export interface Page<T> {
  data: T[];
  next_cursor?: string | null;
  next_after?: string | null;
}

/**
 * An error as a person reads it, in the console's language: the text the dictionaries give its
 * stable code (error.<code>, docs/errors.md), with the code, and for a request refused for its
 * content the API's own message (which field, which range); for a code they do not know, the
 * API's own message.
 */
export function errorText(error: unknown): string {
  if (!(error instanceof ApiError)) return String(error);
  const text = lookup(`error.${error.code}`);
  if (!text) return `${error.code}: ${error.message}`;
  // A refused request's own message names what to correct (a field, a range): kept after the
  // translated text, as the dictionaries cannot say it. Other errors need only the translation.
  const correctable = error.status === 400 || error.status === 409 || error.status === 422;
  return correctable && error.message && error.message !== text
    ? `${text} (${error.code}): ${error.message}`
    : `${text} (${error.code})`;
}
