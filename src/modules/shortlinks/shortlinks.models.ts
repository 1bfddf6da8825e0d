// Short links, pure: finding URLs in a message, giving each its code, the coarse device class of a
// user agent.
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 8 base-62 characters: 2.2e14 codes, so a random draw collides with a stored one almost never. */
export const CODE_LENGTH = 8;

export function newCode(length = CODE_LENGTH): string {
  const bytes = randomBytes(length * 2);
  let code = '';
  // 62 does not divide 256: reject bytes >= 248 so every character is equally likely.
  for (let i = 0; i < bytes.length && code.length < length; i++) {
    const b = bytes[i]!;
    if (b < 248) code += ALPHABET[b % 62];
  }
  while (code.length < length) code += ALPHABET[randomBytes(1)[0]! % 62];
  return code;
}

export function isCode(value: string): boolean {
  return /^[0-9A-Za-z]{4,16}$/.test(value);
}

// A URL in SMS text: scheme, then anything up to whitespace or CJK punctuation that ends it.
const URL_PATTERN = /https?:\/\/[^\s，。！？、；：（）【】《》“”‘’<>"]+/giu;
const TRAILING = /[.,;:!?)\]}'"]+$/u;

/** The URLs of a text, in order, without the sentence punctuation that follows them. */
export function findUrls(text: string): { url: string; index: number }[] {
  const found: { url: string; index: number }[] = [];
  for (const match of text.matchAll(URL_PATTERN)) {
    const url = match[0].replace(TRAILING, '');
    found.push({ url, index: match.index });
  }
  return found;
}

/** Null when `target` may be a short link's target (http or https, a host), else why not. */
export function targetProblem(target: string): string | null {
  if (target.length > 2000) return 'longer than 2,000 characters';
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return 'not an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'not http or https';
  if (url.hostname === '') return 'no host';
  if (url.username !== '' || url.password !== '') return 'carries credentials';
  return null;
}

/**
 * Each URL of `text` replaced by `${base}/${code}` with a code of its own; answers the new text
 * and the links made (target and code), in order.
 */
export function shortenUrls(
  text: string,
  base: string,
  makeCode: () => string = newCode,
): { text: string; links: { code: string; target: string }[] } {
  const urls = findUrls(text);
  if (urls.length === 0) return { text, links: [] };
  const links: { code: string; target: string }[] = [];
  let out = '';
  let at = 0;
  for (const { url, index } of urls) {
    const code = makeCode();
    links.push({ code, target: url });
    out += text.slice(at, index) + `${base.replace(/\/+$/, '')}/${code}`;
    at = index + url.length;
  }
  return { text: out + text.slice(at), links };
}

export type DeviceClass = 'mobile' | 'tablet' | 'desktop' | 'bot' | 'other';

/** A coarse class from the User-Agent: enough for a report, no fingerprinting. */
export function deviceClassOf(userAgent: string | undefined): DeviceClass {
  if (!userAgent) return 'other';
  const ua = userAgent.toLowerCase();
  if (/bot|crawl|spider|slurp|preview|facebookexternalhit|curl|wget|python-requests|headless/.test(ua))
    return 'bot';
  if (/ipad|tablet|kindle|silk|playbook|(android(?!.*mobile))/.test(ua)) return 'tablet';
  if (/mobi|iphone|ipod|android|harmonyos|micromessenger|windows phone|blackberry|opera mini/.test(ua))
    return 'mobile';
  if (/windows nt|macintosh|mac os x|x11|linux|cros/.test(ua)) return 'desktop';
  return 'other';
}
