// Validation of carrier channel settings (pure).
export const BIND_MODES = ['transceiver', 'transmitter_receiver'] as const;
export type BindMode = (typeof BIND_MODES)[number];

/**
 * How the carrier writes message ids in the submit_sm_resp and in the receipt (Kannel's
 * msg-id-type): the same string (`as-is`), hex in the response and decimal in the receipt, the
 * reverse, or `auto`, which learns one of the three from unambiguous matches.
 */
export const ID_CONVENTIONS = [
  'as-is',
  'hex-resp-decimal-receipt',
  'decimal-resp-hex-receipt',
  'auto',
] as const;
export type IdConvention = (typeof ID_CONVENTIONS)[number];

export interface ChannelInput {
  name: string;
  host: string;
  port: number;
  systemId: string;
  password?: string;
  systemType?: string;
  bindMode?: BindMode;
  windowSize?: number;
  maxTps?: number;
  sourceAddr?: string;
  isDefault?: boolean;
  idConvention?: IdConvention;
  // Routing (issue 10).
  /** cmcc, cucc, ctcc, cbn, satellite, intl (any country) or intl:<calling code>. */
  carriers?: string[];
  messageTypes?: string[];
  /** Cost price per part, a decimal string (kept exact), in `costCurrency`. */
  costPerPart?: string;
  costCurrency?: string;
  weight?: number;
  binds?: number;
  acceptsExtension?: boolean;
  enabled?: boolean;
}

/** What `channel set` and PATCH may change; the name and the carrier account stay. */
export type ChannelPatch = Partial<Omit<ChannelInput, 'name' | 'isDefault'>>;

export function validateChannel(input: ChannelInput): string[] {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(input.name))
    problems.push('name: 1-64 letters, digits, "_", "-" or "."');
  if (!/^[A-Za-z0-9.:_-]{1,255}$/.test(input.host)) problems.push('host: a host name or IP address');
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) problems.push('port: 1..65535');
  // SMPP 3.4 limits: system_id 16 octets, password 9, system_type 13 (including the NUL).
  if (input.systemId.length < 1 || input.systemId.length > 15) problems.push('system_id: 1-15 characters');
  if ((input.password ?? '').length > 8) problems.push('password: at most 8 characters (SMPP 3.4)');
  if ((input.systemType ?? '').length > 12) problems.push('system_type: at most 12 characters');
  if (input.bindMode !== undefined && !BIND_MODES.includes(input.bindMode)) {
    problems.push(`bind_mode: one of ${BIND_MODES.join(', ')}`);
  }
  if (
    input.windowSize !== undefined &&
    (!Number.isInteger(input.windowSize) || input.windowSize < 1 || input.windowSize > 10000)
  ) {
    problems.push('window: 1..10000');
  }
  if (
    input.maxTps !== undefined &&
    (!Number.isInteger(input.maxTps) || input.maxTps < 1 || input.maxTps > 1_000_000)
  ) {
    problems.push('max_tps: 1..1000000');
  }
  if (input.idConvention !== undefined && !ID_CONVENTIONS.includes(input.idConvention))
    problems.push(`id_convention: one of ${ID_CONVENTIONS.join(', ')}`);
  if (input.sourceAddr !== undefined && !/^[0-9]{1,20}$/.test(input.sourceAddr))
    problems.push('source_addr: 1-20 digits');
  return [...problems, ...validateRouting(input)];
}

const CARRIER_COVERAGE = /^(cmcc|cucc|ctcc|cbn|satellite|intl|intl:[1-9][0-9]{0,3})$/;
const TYPES = ['verification', 'notification', 'marketing'];

/** The routing settings of a channel, on their own (a patch checks only what it changes). */
export function validateRouting(input: ChannelPatch): string[] {
  const problems: string[] = [];
  if (
    input.carriers !== undefined &&
    (input.carriers.length === 0 || !input.carriers.every((c) => CARRIER_COVERAGE.test(c)))
  )
    problems.push('carriers: one or more of cmcc, cucc, ctcc, cbn, satellite, intl, intl:<calling code>');
  if (
    input.messageTypes !== undefined &&
    (input.messageTypes.length === 0 || !input.messageTypes.every((t) => TYPES.includes(t)))
  )
    problems.push(`types: one or more of ${TYPES.join(', ')}`);
  if (input.costPerPart !== undefined && !/^\d{1,7}(\.\d{1,5})?$/.test(input.costPerPart))
    problems.push('cost: a decimal such as 0.035 (at most 5 decimals)');
  if (input.costCurrency !== undefined && !/^[A-Z]{3}$/.test(input.costCurrency))
    problems.push('currency: an ISO 4217 code such as CNY');
  if (
    input.weight !== undefined &&
    (!Number.isInteger(input.weight) || input.weight < 1 || input.weight > 10_000)
  )
    problems.push('weight: 1..10000');
  if (input.binds !== undefined && (!Number.isInteger(input.binds) || input.binds < 1 || input.binds > 64))
    problems.push('binds: 1..64');
  return problems;
}

/** A patch with the connection settings checked too (host, port, window…), as on add. */
export function validateChannelPatch(patch: ChannelPatch): string[] {
  const given = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  return validateChannel({ name: 'x', host: 'x', port: 1, systemId: 'x', ...given });
}

/**
 * How a channel named by the operator is looked up: digits that make a usable id look up the id,
 * anything else the name. Digits too large for an id ("9999…9") are looked up as a name (and so
 * end in channels.not_found) instead of reaching PostgreSQL as a number it refuses.
 */
export function channelKey(
  nameOrId: string,
): { column: 'id'; value: number } | { column: 'name'; value: string } {
  if (/^\d+$/.test(nameOrId)) {
    const id = Number(nameOrId);
    if (Number.isSafeInteger(id)) return { column: 'id', value: id };
  }
  return { column: 'name', value: nameOrId };
}
