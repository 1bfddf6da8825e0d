import { errorResponses } from '../../http/schemas.ts';
import { MESSAGE_TYPES, STATUSES } from './messages.models.ts';
import { marketingReviewView } from '../compliance/protection/review.schemas.ts';

const nullableString = { type: ['string', 'null'] } as const;

export const messageView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    to: { type: 'string' },
    type: { type: 'string', enum: MESSAGE_TYPES },
    content: { type: 'string' },
    encoding: { type: 'string', enum: ['gsm7', 'ucs2'] },
    parts: { type: 'integer' },
    status: { type: 'string', enum: STATUSES },
    client_ref: nullableString,
    batch_id: nullableString,
    send_at: nullableString,
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    attempts: { type: 'integer' },
    carrier_message_id: nullableString,
    error: {
      type: ['object', 'null'],
      properties: { code: { type: 'string' }, detail: nullableString },
    },
    duplicate_risk: { type: 'boolean' },
    events: {
      type: 'array',
      description:
        'The states the message passed through, oldest first; a final state it failed in carries its code (the carrier receipt code, e.g. carrier.UNDELIV.034, or Hongyan’s own) and detail.',
      items: {
        type: 'object',
        properties: {
          status: { type: 'string' },
          at: { type: 'string' },
          code: { type: 'string' },
          detail: nullableString,
        },
      },
    },
  },
} as const;

const sendAt = {
  type: 'string',
  description:
    'ISO 8601 time with zone. In the future: the message is held until then, and can be canceled until it starts.',
} as const;
const clientRef = { type: 'string', minLength: 1, maxLength: 128 } as const;
const content = { type: 'string', maxLength: 2000 } as const;
const type = { type: 'string', enum: MESSAGE_TYPES, default: 'notification' } as const;
// Compliance (signatures and templates): docs/errors.md, compliance.signature_* and templates.*.
const signName = {
  type: 'string',
  minLength: 1,
  maxLength: 32,
  description: 'An approved signature of the tenant; Hongyan puts 【sign_name】 in front of the text.',
} as const;
const templateId = {
  type: ['string', 'integer'],
  description: 'An approved template of the tenant, sent instead of content; its type is the message type.',
} as const;
const params = {
  type: 'object',
  maxProperties: 32,
  additionalProperties: { type: ['string', 'number'], maxLength: 500 },
  description: "Values of the template's {variables}.",
} as const;

export const sendMessageSchema = {
  tags: ['messages'],
  summary: 'Send one message',
  headers: {
    type: 'object',
    properties: { 'idempotency-key': { type: 'string', maxLength: 255 } },
  },
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['to'],
    // Free text (content) or a template (template_id with params).
    anyOf: [{ required: ['content'] }, { required: ['template_id'] }],
    properties: {
      to: {
        type: 'string',
        minLength: 1,
        maxLength: 32,
        description: 'Phone number; E.164 or national (default region CN).',
      },
      content: {
        ...content,
        description:
          'Free text (tenants the operator allows), e.g. 【鸿雁】您的验证码是 123456: a leading 【…】 must be an approved signature; without one, sign_name or the default signature is put in front.',
      },
      type,
      client_ref: clientRef,
      send_at: sendAt,
      sign_name: signName,
      template_id: templateId,
      params,
      callback_url: {
        type: 'string',
        minLength: 1,
        maxLength: 2000,
        description:
          "This message's own status callback (as Twilio's StatusCallback): its message.status events are POSTed there too, signed with the tenant's callback secret (docs/webhooks.md).",
      },
    },
  },
  response: {
    202: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        to: { type: 'string' },
        type: { type: 'string' },
        status: { type: 'string' },
        parts: { type: 'integer' },
        encoding: { type: 'string' },
        client_ref: nullableString,
        send_at: nullableString,
        created_at: { type: 'string' },
      },
    },
    ...errorResponses,
  },
} as const;

export const sendBatchSchema = {
  tags: ['batches'],
  summary: 'Send one content to up to 10,000 recipients, with per-recipient {variables}',
  headers: sendMessageSchema.headers,
  body: {
    type: 'object',
    additionalProperties: false,
    // Pasted recipients or an uploaded audience file; free text or a template.
    oneOf: [{ required: ['recipients'] }, { required: ['audience_file_id'] }],
    anyOf: [{ required: ['content'] }, { required: ['template_id'] }],
    properties: {
      content,
      type,
      send_at: sendAt,
      sign_name: signName,
      template_id: templateId,
      params: {
        ...params,
        description:
          "Values of the template's {variables} for every recipient; a recipient's own params (or vars, or its audience file columns) win.",
      },
      audience_file_id: {
        type: 'string',
        pattern: '^[1-9][0-9]{0,15}$',
        description:
          'An uploaded audience file (POST /v1/campaigns/audience-files), instead of recipients: its numbers, each with its columns as variables (at most 10,000).',
      },
      all_or_nothing: {
        type: 'boolean',
        default: false,
        description:
          'When the balance does not cover every recipient: true refuses them all (billing.insufficient_quota); false (default) accepts recipients up to the balance and refuses the rest, each with its own error.',
      },
      recipients: {
        type: 'array',
        minItems: 1,
        maxItems: 10_000,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['to'],
          properties: {
            to: { type: 'string', minLength: 1, maxLength: 32 },
            client_ref: clientRef,
            params,
            vars: {
              type: 'object',
              maxProperties: 32,
              additionalProperties: { type: ['string', 'number'], maxLength: 500 },
            },
          },
        },
      },
    },
  },
  response: {
    202: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        type: { type: 'string' },
        total: { type: 'integer' },
        accepted: { type: 'integer' },
        rejected: { type: 'integer' },
        send_at: nullableString,
        created_at: { type: 'string' },
        review: marketingReviewView,
        results: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              index: { type: 'integer' },
              to: { type: 'string' },
              accepted: { type: 'boolean' },
              id: { type: 'string' },
              parts: { type: 'integer' },
              status: { type: 'string' },
              error: {
                type: 'object',
                properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
              },
            },
          },
        },
      },
    },
    ...errorResponses,
  },
} as const;

export const batchView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string' },
    content: { type: 'string' },
    total: { type: 'integer' },
    accepted: { type: 'integer' },
    rejected: { type: 'integer' },
    send_at: nullableString,
    canceled_at: nullableString,
    created_at: { type: 'string' },
    completed_at: {
      ...nullableString,
      description: 'When every message of the batch became final; null until then.',
    },
    canceled_now: { type: 'integer' },
    review: marketingReviewView,
    counts: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Messages by status.' },
  },
} as const;

export const listMessagesSchema = {
  tags: ['messages'],
  summary: 'List messages, newest first, cursor-paginated',
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      phone: { type: 'string', maxLength: 32 },
      status: { type: 'string', enum: STATUSES },
      batch_id: { type: 'string', pattern: '^[1-9][0-9]{0,15}$' },
      template_id: {
        type: 'string',
        pattern: '^[1-9][0-9]{0,15}$',
        description: 'Messages sent with this template.',
      },
      client_ref: clientRef,
      created_after: { type: 'string', format: 'date-time' },
      created_before: { type: 'string', format: 'date-time' },
      cursor: { type: 'string', maxLength: 64 },
      limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: { data: { type: 'array', items: messageView }, next_cursor: nullableString },
    },
    ...errorResponses,
  },
} as const;

export const reviewForecastView = {
  type: 'object',
  properties: {
    review: {
      type: 'boolean',
      description: "The tenant's marketing batches wait for an operator's review (recipient protection).",
    },
    expected_by: {
      type: ['string', 'null'],
      format: 'date-time',
      description: 'When a marketing batch sent now is expected to be reviewed; null: no review.',
    },
    hours: {
      type: 'object',
      description:
        "The marketing desk's hours (GET /v1/operator/compliance/settings): it reviews on its days from open to close, in time_zone; what arrives from intake_until waits for the next opening.",
      properties: {
        time_zone: { type: 'string' },
        days: { type: 'array', items: { type: 'integer' } },
        open: { type: 'string' },
        close: { type: 'string' },
        intake_until: { type: 'string' },
      },
    },
  },
} as const;
