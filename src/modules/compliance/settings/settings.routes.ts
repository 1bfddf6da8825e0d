// The operator's platform-wide compliance settings: the signature name length and the review
// desks' hours, time zone, targets and holidays. Every change is audited.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../app/context.ts';
import { withTransaction } from '../../../db/pool.ts';
import { errorResponses } from '../../../http/schemas.ts';
import { audit } from '../../accounts/audit.ts';
import { invalidComplianceSettings } from './settings.errors.ts';
import {
  mergeComplianceSettings,
  REVIEW_KINDS,
  type SettingsPatch,
  settingsProblem,
} from './settings.models.ts';
import { readStoredSettings, writeComplianceSettings } from './settings.sql.ts';

const time = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' } as const;
const desk = {
  type: 'object',
  additionalProperties: false,
  properties: {
    days: {
      type: 'array',
      uniqueItems: true,
      maxItems: 7,
      items: { type: 'integer', minimum: 1, maximum: 7 },
      description: 'Working days, ISO numbers: 1 Monday … 7 Sunday.',
    },
    open: { ...time, description: 'The desk opens (local time).' },
    close: { ...time, description: 'The desk closes.' },
    intake_until: {
      ...time,
      description: 'What arrives from this time on (or on a closed day) waits for the next opening.',
    },
    target_minutes: {
      type: 'integer',
      minimum: 1,
      maximum: 100_000,
      description: 'A decision is due this many working minutes after intake.',
    },
    closed_on_holidays: { type: 'boolean', description: 'The desk does not review on the holiday dates.' },
    holiday_target_minutes: {
      type: ['integer', 'null'],
      minimum: 1,
      maximum: 100_000,
      description:
        'An item submitted on a day the desk does not work (weekend, holiday) is decided within these wall-clock minutes, or by the working-hours target if that is sooner (seed 002: 节假日1天内, 1440). Null: it waits for the next working day.',
    },
  },
} as const;
const settingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    signature_name: {
      type: 'object',
      additionalProperties: false,
      description: 'Length of a signature name in characters (the clouds 2–12; seed 002’s platform 8).',
      properties: {
        min: { type: 'integer', minimum: 1, maximum: 64 },
        max: { type: 'integer', minimum: 1, maximum: 64 },
      },
    },
    review: {
      type: 'object',
      additionalProperties: false,
      properties: {
        time_zone: { type: 'string', minLength: 1, maxLength: 64, description: 'IANA zone of the desks.' },
        holidays: {
          type: 'array',
          maxItems: 400,
          items: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
          description: 'Local dates (YYYY-MM-DD) on which desks that close on holidays do not review.',
        },
        workdays: {
          type: 'array',
          maxItems: 400,
          items: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
          description:
            'Local dates (YYYY-MM-DD) worked whatever their week day (调休: a weekend made a working day); never a holiday too.',
        },
        ...Object.fromEntries(REVIEW_KINDS.map((k) => [k, desk])),
      },
    },
  },
} as const;

export async function registerComplianceSettingsRoutes(app: FastifyInstance, ctx: AppContext) {
  const db = ctx.db.pool;

  app.get(
    '/v1/operator/compliance/settings',
    {
      config: { permission: 'operator.compliance.read' },
      schema: {
        tags: ['operator'],
        summary:
          'Compliance settings: signature name length; review hours, time zone, targets, holidays, working days moved',
        response: { 200: settingsSchema, ...errorResponses },
      },
    },
    async () => (await readStoredSettings(db)).settings,
  );

  app.patch<{ Body: SettingsPatch }>(
    '/v1/operator/compliance/settings',
    {
      config: { permission: 'operator.compliance.manage' },
      schema: {
        tags: ['operator'],
        summary:
          'Change compliance settings (what is left out keeps its value; holidays and workdays are replaced whole)',
        body: settingsSchema,
        response: { 200: settingsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const now = ctx.clock.now();
      return withTransaction(db, async (client) => {
        // The row is locked: two concurrent changes apply one after the other, none is lost.
        await client.query('select 1 from compliance_settings for update');
        const { settings: before } = await readStoredSettings(client);
        const after = mergeComplianceSettings(before, request.body);
        const problem = settingsProblem(after);
        if (problem) throw invalidComplianceSettings({ message: problem });
        await writeComplianceSettings(client, after, now);
        await audit(
          client,
          {
            actor: request.principal!.actor,
            action: 'compliance.settings_changed',
            before,
            after,
            ip: request.ip,
          },
          now,
        );
        return after;
      });
    },
  );
}
