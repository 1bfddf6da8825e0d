// JSON schemas of the campaign routes (validation and the OpenAPI document).
const time = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' } as const;

const rule = {
  oneOf: [
    {
      type: 'object',
      required: ['kind', 'time'],
      additionalProperties: false,
      properties: { kind: { const: 'daily' }, time },
    },
    {
      type: 'object',
      required: ['kind', 'time', 'days'],
      additionalProperties: false,
      properties: {
        kind: { const: 'weekly' },
        time,
        days: { type: 'array', minItems: 1, maxItems: 7, items: { type: 'integer', minimum: 1, maximum: 7 } },
      },
    },
    {
      type: 'object',
      required: ['kind', 'time', 'day_of_month'],
      additionalProperties: false,
      properties: {
        kind: { const: 'monthly' },
        time,
        day_of_month: { type: 'integer', minimum: 1, maximum: 31 },
      },
    },
    {
      type: 'object',
      required: ['kind', 'expression'],
      additionalProperties: false,
      properties: { kind: { const: 'cron' }, expression: { type: 'string', minLength: 9, maxLength: 200 } },
    },
  ],
} as const;

const schedule = {
  type: 'object',
  required: ['kind'],
  additionalProperties: false,
  description:
    'now (default); at (once, at `at`); recurring (`rule` in `time_zone`, default Asia/Shanghai, until `end_at` or `max_runs`).',
  properties: {
    kind: { type: 'string', enum: ['now', 'at', 'recurring'] },
    at: { type: 'string', maxLength: 64 },
    rule,
    time_zone: { type: 'string', maxLength: 64 },
    end_at: { type: 'string', maxLength: 64 },
    max_runs: { type: 'integer', minimum: 1, maximum: 100_000 },
  },
} as const;

const variant = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' },
    content: { type: 'string', minLength: 1, maxLength: 2000 },
    template_id: { type: 'string', pattern: '^[0-9]{1,15}$' },
    sign_name: { type: 'string', minLength: 1, maxLength: 32 },
    delay_minutes: { type: 'integer', minimum: 0, maximum: 10_080 },
  },
} as const;

const ab = {
  type: 'object',
  required: ['variants', 'test_share', 'decide_after_minutes', 'metric'],
  additionalProperties: false,
  properties: {
    variants: { type: 'array', minItems: 2, maxItems: 5, items: variant },
    test_share: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    seed: { type: 'integer', minimum: 0, maximum: 2_147_483_647 },
    decide_after_minutes: { type: 'integer', minimum: 0, maximum: 43_200 },
    metric: { type: 'string', enum: ['delivery_rate', 'click_rate', 'opt_out_rate'] },
    auto: { type: 'boolean', default: true },
  },
} as const;

export const campaignBody = {
  type: 'object',
  required: ['name', 'audience'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    audience: {
      type: 'object',
      additionalProperties: false,
      properties: {
        numbers: {
          type: 'string',
          maxLength: 2_000_000,
          description:
            'Pasted numbers, one per line (up to 10,000), each optionally followed by values named by `columns`.',
        },
        columns: {
          type: 'array',
          maxItems: 20,
          items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,31}$' },
        },
        file_id: {
          type: 'string',
          pattern: '^[1-9][0-9]{0,15}$',
          description:
            'An uploaded audience file (POST /v1/campaigns/audience-files): its recipients, with their variables, after the pasted ones.',
        },
        group_ids: { type: 'array', maxItems: 100, items: { type: 'integer', minimum: 1 } },
        segment_ids: { type: 'array', maxItems: 100, items: { type: 'integer', minimum: 1 } },
      },
    },
    content: { type: 'string', minLength: 1, maxLength: 2000 },
    template_id: { type: ['string', 'integer'], maxLength: 20 },
    sign_name: { type: 'string', minLength: 1, maxLength: 32 },
    type: { type: 'string', enum: ['notification', 'marketing'] },
    params: {
      type: 'object',
      maxProperties: 50,
      additionalProperties: { type: ['string', 'number'], maxLength: 500 },
    },
    schedule,
    throttle_per_minute: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    shorten_links: { type: 'boolean' },
    ab,
    draft: { type: 'boolean', description: 'Keep it a draft (preview it, start it later).' },
  },
} as const;

export const campaignView = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    state: { type: 'string', enum: ['draft', 'active', 'paused', 'completed', 'canceled'] },
    next_run_at: { type: ['string', 'null'] },
    runs_started: { type: 'integer' },
  },
} as const;

export const runView = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    run_at: { type: 'string' },
    state: { type: 'string', enum: ['expanding', 'testing', 'choosing', 'done'] },
    progress: { type: 'object', additionalProperties: { type: 'integer' } },
  },
} as const;

export const campaignParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$' } },
} as const;

export const runParams = {
  type: 'object',
  required: ['id', 'runId'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^[0-9]{1,15}$' },
    runId: { type: 'string', pattern: '^[0-9]{1,15}$' },
  },
} as const;
