// JSON schemas of the onboarding routes (they validate requests and generate the OpenAPI document).
import { PROFILE_FIELDS } from './tenants.repository.ts';
import { DOCUMENT_KINDS } from './tenants.models.ts';

const str = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;

export const profileProperties = {
  company_name: str(200),
  credit_code: { type: 'string', minLength: 18, maxLength: 18 },
  contact_name: str(100),
  contact_phone: { type: 'string', pattern: '^\\+?[0-9]{5,20}$' },
  contact_email: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$', maxLength: 320 },
  industry: str(100),
} as const;

export const registerBody = {
  type: 'object',
  additionalProperties: false,
  required: [...PROFILE_FIELDS, 'email', 'password'],
  properties: { ...profileProperties, email: { type: 'string', maxLength: 320 }, password: str(256) },
} as const;

export const profilePatchBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: profileProperties,
} as const;

export const documentView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string', enum: DOCUMENT_KINDS },
    content_type: { type: 'string' },
    size_bytes: { type: 'integer' },
    sha256: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

const nullableString = { type: ['string', 'null'] } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;

export const tenantProfileView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    status: { type: 'string', enum: ['pending_review', 'active', 'rejected', 'suspended'] },
    status_reason: {
      ...nullableString,
      description: 'Why the application was rejected or the tenant suspended.',
    },
    submitted_at: nullableTime,
    reviewed_at: nullableTime,
    created_at: { type: 'string', format: 'date-time' },
    ...Object.fromEntries(PROFILE_FIELDS.map((f) => [f, nullableString])),
    documents: { type: 'array', items: documentView },
  },
} as const;

export const queueItemView = {
  type: 'object',
  properties: {
    ...tenantProfileView.properties,
    age_seconds: { type: 'integer' },
    age_minutes: { type: 'integer' },
    review_minutes: { type: 'integer', description: 'Working minutes waited since the desk took it in.' },
    target_review_minutes: { type: 'integer', description: 'The qualification desk’s target.' },
    due_at: { type: 'string', description: 'When a decision is due, in working hours.' },
    overdue: { type: 'boolean' },
  },
} as const;

export const documentQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: { kind: { type: 'string', enum: DOCUMENT_KINDS } },
} as const;

export const documentParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'docId'],
  properties: {
    id: { type: 'string', pattern: '^[1-9][0-9]{0,15}$' },
    docId: { type: 'string', pattern: '^[1-9][0-9]{0,15}$' },
  },
} as const;

export const ownDocumentParams = {
  type: 'object',
  additionalProperties: false,
  required: ['docId'],
  properties: { docId: { type: 'string', pattern: '^[1-9][0-9]{0,15}$' } },
} as const;

export const reasonBody = (required: boolean) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: required ? ['reason'] : [],
    properties: { reason: { type: 'string', minLength: 1, maxLength: 1000 } },
  }) as const;
