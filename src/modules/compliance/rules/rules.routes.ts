// HTTP API of the content rules: the operator lists, reads, tunes, edits, imports and exports the
// rule sets; staff and tenants check a text against the rules in force (the console shows the
// findings while a template or message is written).
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../../app/context.ts';
import { invalidUtf8 } from '../../../http/http.errors.ts';
import { errorResponses } from '../../../http/schemas.ts';
import { ruleSetNotFound } from './rules.errors.ts';
import {
  evaluateContent,
  MESSAGE_TYPES,
  type MessageType,
  type Severity,
  type Subject,
  SUBJECTS,
} from './rules.models.ts';
import { findRuleSet, listRuleSets, listWords } from './rules.repository.ts';
import { addWords, changeRuleSet, importWords, removeWords } from './rules.usecases.ts';
import { renderWordList } from './words.models.ts';

const setParams = {
  type: 'object',
  properties: { setId: { type: 'string', pattern: '^[a-z0-9_]{1,64}$' } },
  required: ['setId'],
  additionalProperties: false,
} as const;

const setView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string' },
    severity: { type: 'string', enum: ['block', 'warn'] },
    enabled: { type: 'boolean' },
    types: { type: 'array', items: { type: 'string' } },
    subjects: { type: 'array', items: { type: 'string' } },
    version: { type: 'integer' },
    updated_at: { type: 'string', format: 'date-time' },
    word_count: { type: 'integer' },
  },
} as const;

const wordsBody = {
  type: 'object',
  properties: {
    words: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', maxLength: 1000 } },
  },
  required: ['words'],
  additionalProperties: false,
} as const;

const checkBody = {
  type: 'object',
  properties: {
    content: {
      type: 'string',
      minLength: 1,
      maxLength: 10_000,
      description: 'The text as it will be sent, signature included',
    },
    type: { type: 'string', enum: MESSAGE_TYPES },
    subject: {
      type: 'string',
      enum: SUBJECTS,
      default: 'message',
      description: 'template: checked as a template at submission',
    },
    max_parts: { type: 'integer', minimum: 1, maximum: 255 },
  },
  required: ['content', 'type'],
  additionalProperties: false,
} as const;

const verdictView = {
  type: 'object',
  properties: {
    blocked: { type: 'boolean' },
    findings: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          rule: {
            type: 'string',
            description: 'The rule kind; a blocking finding is refused with compliance.<rule>',
          },
          code: { type: 'string' },
          severity: { type: 'string', enum: ['block', 'warn'] },
          start: { type: 'integer' },
          end: { type: 'integer' },
          text: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
  },
} as const;

interface CheckBody {
  content: string;
  type: MessageType;
  subject: Subject;
  max_parts?: number;
}

/** Import body size: 100,000 words of up to 100 characters of 3 UTF-8 bytes, with line ends. */
const IMPORT_MAX_BYTES = 32 * 1024 * 1024;

export async function registerRulesRoutes(app: FastifyInstance, ctx: AppContext) {
  const pool = ctx.db.pool;
  const by = (request: FastifyRequest) => ({ actor: request.principal!.actor, ip: request.ip });
  const check = async (request: FastifyRequest<{ Body: CheckBody }>) => {
    const { content, type, subject, max_parts } = request.body;
    const verdict = evaluateContent(
      { content, type, subject, ...(max_parts === undefined ? {} : { maxParts: max_parts }) },
      await ctx.rules.current(),
    );
    return {
      blocked: verdict.blocked,
      findings: verdict.findings.map((f) => ({ ...f, code: `compliance.${f.rule}` })),
    };
  };
  const readSet = async (id: string) => {
    const set = await findRuleSet(pool, id);
    if (!set) throw ruleSetNotFound();
    return set;
  };

  app.get(
    '/v1/operator/compliance/rule-sets',
    {
      config: { permission: 'operator.compliance.read' },
      schema: {
        tags: ['operator'],
        summary: 'The content rule sets, in the order the engine applies them, with their word counts',
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: setView } } },
          ...errorResponses,
        },
      },
    },
    async () => ({ data: await listRuleSets(pool) }),
  );

  app.get<{ Params: { setId: string } }>(
    '/v1/operator/compliance/rule-sets/:setId',
    {
      config: { permission: 'operator.compliance.read' },
      schema: {
        tags: ['operator'],
        summary: 'One rule set with its words',
        params: setParams,
        response: {
          200: {
            type: 'object',
            properties: { ...setView.properties, words: { type: 'array', items: { type: 'string' } } },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const set = await readSet(request.params.setId);
      return { ...set, words: await listWords(pool, set.id) };
    },
  );

  app.patch<{ Params: { setId: string }; Body: { severity?: Severity; enabled?: boolean } }>(
    '/v1/operator/compliance/rule-sets/:setId',
    {
      config: { permission: 'operator.compliance.manage' },
      schema: {
        tags: ['operator'],
        summary:
          'Change whether a rule set blocks or warns, or switch it off; effective on every node within seconds',
        params: setParams,
        body: {
          type: 'object',
          properties: { severity: { type: 'string', enum: ['block', 'warn'] }, enabled: { type: 'boolean' } },
          minProperties: 1,
          additionalProperties: false,
        },
        response: { 200: setView, ...errorResponses },
      },
    },
    async (request) => {
      await changeRuleSet({
        pool,
        id: request.params.setId,
        change: request.body,
        by: by(request),
        now: ctx.clock.now(),
      });
      ctx.rules.invalidate();
      return readSet(request.params.setId);
    },
  );

  app.post<{ Params: { setId: string }; Body: { words: string[] } }>(
    '/v1/operator/compliance/rule-sets/:setId/words',
    {
      config: { permission: 'operator.compliance.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Add words (up to 1,000 a request; import for more); all or nothing',
        params: setParams,
        body: wordsBody,
        response: {
          200: { type: 'object', properties: { added: { type: 'integer' }, set: setView } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const result = await addWords({
        pool,
        id: request.params.setId,
        words: request.body.words,
        by: by(request),
        now: ctx.clock.now(),
      });
      ctx.rules.invalidate();
      return { ...result, set: await readSet(request.params.setId) };
    },
  );

  app.post<{ Params: { setId: string }; Body: { words: string[] } }>(
    '/v1/operator/compliance/rule-sets/:setId/words/remove',
    {
      config: { permission: 'operator.compliance.manage' },
      schema: {
        tags: ['operator'],
        summary: 'Remove words (up to 1,000 a request)',
        params: setParams,
        body: wordsBody,
        response: {
          200: { type: 'object', properties: { removed: { type: 'integer' }, set: setView } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const result = await removeWords({
        pool,
        id: request.params.setId,
        words: request.body.words,
        by: by(request),
        now: ctx.clock.now(),
      });
      ctx.rules.invalidate();
      return { ...result, set: await readSet(request.params.setId) };
    },
  );

  // Its own scope: the raw text parsers and their size limit apply to the import route only.
  await app.register(async (scope) => {
    scope.removeContentTypeParser(['text/plain']);
    scope.addContentTypeParser(
      ['text/plain', 'text/csv'],
      { parseAs: 'buffer', bodyLimit: IMPORT_MAX_BYTES },
      (_request, body, done) => done(null, body),
    );
    scope.post<{ Params: { setId: string }; Querystring: { mode: 'add' | 'replace' } }>(
      '/v1/operator/compliance/rule-sets/:setId/import',
      {
        config: { permission: 'operator.compliance.manage' },
        bodyLimit: IMPORT_MAX_BYTES,
        schema: {
          tags: ['operator'],
          summary:
            'Import words as the raw body, one per line (text/plain, or text/csv with the word in the first column), up to 100,000; any bad line refuses the whole list with its line number',
          params: setParams,
          querystring: {
            type: 'object',
            properties: { mode: { type: 'string', enum: ['add', 'replace'], default: 'add' } },
            additionalProperties: false,
          },
          response: {
            200: {
              type: 'object',
              properties: {
                words: { type: 'integer' },
                added: { type: 'integer' },
                removed: { type: 'integer' },
                set: setView,
              },
            },
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const bytes = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        if (!isUtf8(bytes)) throw invalidUtf8();
        const type = String(request.headers['content-type'] ?? '');
        const result = await importWords({
          pool,
          id: request.params.setId,
          text: bytes.toString('utf8'),
          format: type.startsWith('text/csv') ? 'csv' : 'text',
          mode: request.query.mode,
          by: by(request),
          now: ctx.clock.now(),
        });
        ctx.rules.invalidate();
        return { ...result, set: await readSet(request.params.setId) };
      },
    );
  });

  app.get<{ Params: { setId: string } }>(
    '/v1/operator/compliance/rule-sets/:setId/export',
    {
      config: { permission: 'operator.compliance.read' },
      schema: {
        tags: ['operator'],
        summary: 'Export the words of a rule set, one per line (what import reads back)',
        params: setParams,
        response: {
          200: { type: 'string', description: 'text/plain' },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const set = await readSet(request.params.setId);
      return reply
        .header('content-type', 'text/plain; charset=utf-8')
        .header('content-disposition', `attachment; filename="${set.id}.txt"`)
        .send(renderWordList(await listWords(pool, set.id)));
    },
  );

  app.post<{ Body: CheckBody }>(
    '/v1/operator/compliance/check',
    {
      config: { permission: 'operator.compliance.read' },
      schema: {
        tags: ['operator'],
        summary: 'Check a text against the rules in force: every finding, blocking or not, with its span',
        body: checkBody,
        response: { 200: verdictView, ...errorResponses },
      },
    },
    check,
  );

  app.post<{ Body: CheckBody }>(
    '/v1/compliance/check',
    {
      config: { permission: 'messages.send' },
      schema: {
        tags: ['compliance'],
        summary:
          'Check a text before sending it or submitting it as a template: the findings the rules engine would give',
        body: checkBody,
        response: { 200: verdictView, ...errorResponses },
      },
    },
    check,
  );
}
