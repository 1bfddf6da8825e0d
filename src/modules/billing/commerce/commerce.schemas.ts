// JSON schemas of the billing commerce routes (validation and the OpenAPI document).
import { MESSAGE_TYPES } from './rating.models.ts';
import { ORDER_STATUSES, STATEMENT_DIMENSIONS } from './commerce.models.ts';

const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
/** Money as exact decimal text: '50', '50.00'. */
const money = { type: 'string', pattern: '^[0-9]{1,10}(\\.[0-9]{1,2})?$' } as const;
const moneyPerPart = { type: 'string', pattern: '^[0-9]{1,8}(\\.[0-9]{1,4})?$' } as const;
const currency = { type: 'string', pattern: '^[A-Z]{3}$' } as const;

export const packageView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    parts: { type: 'integer' },
    price: { type: 'string' },
    currency: { type: 'string' },
    validity_days: { type: 'integer' },
    enabled: { type: 'boolean' },
  },
} as const;

const packageProperties = {
  name: { type: 'string', minLength: 1, maxLength: 100 },
  parts: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
  price: money,
  currency,
  validity_days: { type: 'integer', minimum: 1, maximum: 3650 },
  enabled: { type: 'boolean' },
} as const;

export const packageBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'parts', 'price', 'validity_days'],
  properties: packageProperties,
} as const;

export const packagePatchBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: packageProperties,
} as const;

export const priceView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    type: { type: ['string', 'null'] },
    destination: { type: 'string' },
    country_code: { type: ['string', 'null'] },
    units_per_part: { type: 'integer' },
    price_per_part: { type: 'string' },
    currency: { type: 'string' },
  },
} as const;

export const priceBody = {
  type: 'object',
  additionalProperties: false,
  required: ['destination', 'units_per_part'],
  properties: {
    type: { type: ['string', 'null'], enum: [...MESSAGE_TYPES, null] },
    destination: { type: 'string', enum: ['domestic', 'international'] },
    country_code: { type: ['string', 'null'], pattern: '^[0-9]{1,4}$' },
    units_per_part: { type: 'integer', minimum: 0, maximum: 1000 },
    price_per_part: moneyPerPart,
    currency,
  },
} as const;

export const orderView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    tenant_id: { type: 'integer' },
    package: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } },
    parts: { type: 'integer' },
    price: { type: 'string' },
    currency: { type: 'string' },
    validity_days: { type: 'integer' },
    status: { type: 'string', enum: ORDER_STATUSES },
    payment_reference: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    paid_at: nullableTime,
    credited_at: nullableTime,
    canceled_at: nullableTime,
  },
} as const;

export const orderList = {
  type: 'object',
  properties: { data: { type: 'array', items: orderView } },
} as const;

export const orderBody = {
  type: 'object',
  additionalProperties: false,
  required: ['package_id'],
  properties: { package_id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
} as const;

export const confirmBody = {
  type: 'object',
  additionalProperties: false,
  properties: { reference: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

export const alertView = {
  type: 'object',
  properties: {
    low_balance: { type: 'boolean', description: 'Available below the threshold: show the banner.' },
    available: { type: 'integer' },
    threshold: { type: 'integer' },
    threshold_is_default: { type: 'boolean' },
    alerted_at: nullableTime,
  },
} as const;

export const alertBody = {
  type: 'object',
  additionalProperties: false,
  required: ['threshold'],
  properties: { threshold: { type: ['integer', 'null'], minimum: 0, maximum: 1_000_000_000 } },
} as const;

export const statementQuery = {
  type: 'object',
  additionalProperties: false,
  // from and to are checked by the handler (billing.invalid_range), not required here: validation
  // runs before the permission check, which must answer first.
  properties: {
    from: { type: 'string', description: 'First day, YYYY-MM-DD (China time).' },
    to: { type: 'string', description: 'Last day, YYYY-MM-DD, included.' },
    group_by: {
      type: 'string',
      description: `Comma-separated: ${STATEMENT_DIMENSIONS.join(', ')} (default day,type).`,
    },
  },
} as const;

export const exportQuery = {
  ...statementQuery,
  properties: { ...statementQuery.properties, format: { type: 'string', enum: ['csv', 'xlsx'] } },
} as const;

const figures = {
  day: { type: 'string' },
  type: { type: 'string' },
  signature_id: { type: ['integer', 'null'] },
  signature: { type: ['string', 'null'] },
  channel_id: { type: ['integer', 'null'] },
  channel: { type: ['string', 'null'] },
  cost_per_part: { type: ['string', 'null'] },
  messages: { type: 'integer' },
  parts_sent: { type: 'integer' },
  parts_delivered: { type: 'integer' },
  parts_failed: { type: 'integer' },
  charged: { type: 'integer' },
  refunded: { type: 'integer' },
  amount: { type: 'string' },
  cost: { type: 'string' },
  margin: { type: 'string' },
} as const;

export const statementView = {
  type: 'object',
  properties: {
    from: { type: 'string' },
    to: { type: 'string' },
    group_by: { type: 'array', items: { type: 'string' } },
    columns: { type: 'array', items: { type: 'string' } },
    rows: { type: 'array', items: { type: 'object', properties: figures } },
    totals: { type: 'object', properties: figures },
  },
} as const;
