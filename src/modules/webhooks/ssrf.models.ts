// Where a webhook may connect (pure). An address is refused when it falls in a range that reaches
// inside the operator's network or the machine itself, unless the operator allows that range
// (HONGYAN_WEBHOOK_ALLOW_RANGES). IPv6 addresses that carry an IPv4 address (IPv4-mapped
// ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by that
// IPv4 address too, so ::ffff:10.0.0.1 is as private as 10.0.0.1.
import { isIP } from 'node:net';

export type BlockedRange =
  'unspecified' | 'loopback' | 'private' | 'link_local' | 'cgnat' | 'multicast' | 'metadata' | 'reserved';

interface Cidr {
  /** 16 bytes; IPv4 as IPv4-mapped IPv6. */
  bytes: Uint8Array;
  bits: number;
}

function parseV4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    out[i] = Number(p);
  }
  return out;
}

/** The address as 16 bytes (IPv4 as ::ffff:a.b.c.d), or null when it is not an IP address. */
export function addressBytes(address: string): Uint8Array | null {
  const text = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const kind = isIP(text);
  if (kind === 4) {
    const v4 = parseV4(text)!;
    return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]);
  }
  if (kind !== 6) return null;
  let head = text;
  let tailV4: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (!tailV4) return null;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, null];
  const groups = (s: string | undefined) => (s ? s.split(':').filter((g) => g !== '') : []);
  const l = groups(left);
  const r = right === null ? [] : groups(right);
  const fill = right === null ? 0 : 8 - l.length - r.length;
  const all = [...l, ...Array<string>(fill).fill('0'), ...r];
  if (all.length !== 8) return null;
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  if (tailV4) out.set(tailV4, 12);
  return out;
}

export function parseCidr(text: string): Cidr | null {
  const [addr, bitsText] = text.trim().split('/');
  const bytes = addressBytes(addr ?? '');
  if (!bytes) return null;
  const v4 = isIP((addr ?? '').replace(/^\[|\]$/g, '')) === 4;
  const max = v4 ? 32 : 128;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (
    !Number.isInteger(bits) ||
    bits < 0 ||
    bits > max ||
    (bitsText !== undefined && !/^\d+$/.test(bitsText))
  )
    return null;
  return { bytes, bits: v4 ? bits + 96 : bits };
}

export function inCidr(bytes: Uint8Array, cidr: Cidr): boolean {
  for (let bit = 0; bit < cidr.bits; bit++) {
    const i = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((bytes[i]! & mask) !== (cidr.bytes[i]! & mask)) return false;
  }
  return true;
}

const RANGES: [string, BlockedRange][] = [
  // Cloud metadata first, as they sit inside wider ranges (Alibaba Cloud's is in CGNAT space).
  ['169.254.169.254/32', 'metadata'],
  ['169.254.0.23/32', 'metadata'],
  ['100.100.100.200/32', 'metadata'],
  ['fd00:ec2::254/128', 'metadata'],
  ['0.0.0.0/8', 'unspecified'],
  ['127.0.0.0/8', 'loopback'],
  ['10.0.0.0/8', 'private'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['169.254.0.0/16', 'link_local'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['192.0.0.0/24', 'reserved'],
  ['198.18.0.0/15', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link_local'],
  ['fc00::/7', 'private'],
  ['ff00::/8', 'multicast'],
];
const PARSED = RANGES.map(([c, range]) => ({ cidr: parseCidr(c)!, range }));

/** The IPv4 address an IPv6 address carries, as ::ffff:a.b.c.d bytes, if any. */
function embeddedV4(b: Uint8Array): Uint8Array | null {
  const v4 = (at: number) =>
    Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...b.slice(at, at + 4)]);
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  // IPv4-compatible ::a.b.c.d (not :: and ::1, which are their own ranges).
  if (zeros(0, 12) && !zeros(12, 15)) return v4(12);
  // NAT64 64:ff9b::/96
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return v4(12);
  // 6to4 2002:a.b.c.d::/48
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  return null;
}

export interface AddressPolicy {
  allowed: Cidr[];
}

/** Parses HONGYAN_WEBHOOK_ALLOW_RANGES (comma-separated CIDRs or addresses); throws on a bad one. */
export function addressPolicyOf(allowRanges: string): AddressPolicy {
  const allowed: Cidr[] = [];
  for (const part of allowRanges
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const cidr = parseCidr(part);
    if (!cidr) throw new Error(`not an address or CIDR range: "${part}"`);
    allowed.push(cidr);
  }
  return { allowed };
}

/**
 * Why a webhook may not connect to this address (the range it falls in), or null when it may. An
 * address that is not an IP address at all is refused as `reserved`.
 */
export function refusedRange(address: string, policy: AddressPolicy): BlockedRange | null {
  const bytes = addressBytes(address);
  if (!bytes) return 'reserved';
  const candidates = [bytes];
  const inner = embeddedV4(bytes);
  if (inner) candidates.push(inner);
  for (const b of candidates) {
    const hit = PARSED.find((p) => inCidr(b, p.cidr));
    if (hit && !policy.allowed.some((a) => inCidr(b, a))) return hit.range;
  }
  return null;
}
