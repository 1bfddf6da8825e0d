// Operator commands for scripting. Each prints a human line or, with --json, one JSON document.
// They open the same database as a running `hongyan start` (the embedded server is shared through
// its socket, or started for the command and stopped after it).

import { createAccountsRepository } from '../modules/accounts/accounts.repository.ts';
import { tenantNotFound } from '../modules/accounts/accounts.errors.ts';
import { createApiKey, createTenant } from '../modules/accounts/accounts.usecases.ts';
import { BillingUsageError, runBillingCommand } from '../modules/billing/billing.cli.ts';
import { COMMERCE_SUBCOMMANDS, runCommerceCommand } from '../modules/billing/commerce/commerce.cli.ts';
import { creditTenant, defaultExpiry } from '../modules/billing/ledger.usecases.ts';
import { addMember } from '../modules/accounts/members.usecases.ts';
import { TENANT_ROLES, type TenantRole } from '../modules/accounts/permissions.models.ts';
import type { BindMode, IdConvention } from '../modules/channels/channels.models.ts';
import { createChannelsRepository, toChannelView } from '../modules/channels/channels.repository.ts';
import { addChannel, changeChannel, removeChannel } from '../modules/channels/channels.usecases.ts';
import {
  CHANNEL_ROUTING_HELP,
  channelSetFlags,
  routingFlags,
  routingLine,
} from '../modules/channels/channels.cli.ts';
import { runRouteCommand } from '../modules/routing/routing.cli.ts';
import { runSmppAccountCommand, SmppAccountUsageError } from '../modules/smpp-server/smpp-accounts.cli.ts';
import { channelStats } from '../modules/routing/health/channel-stats.ts';
import { statsSummary } from '../modules/routing/health/health.cli.ts';
import {
  CredentialUsageError,
  rotateSecrets,
  runCredentialCommand,
} from '../modules/credentials/credentials.cli.ts';
import { createMessagesRepository } from '../modules/messages/messages.repository.ts';
import { runTenantStatusCommand } from '../modules/tenants/tenants.cli.ts';
import { runReviewCommand } from '../modules/compliance/signatures/signatures.cli.ts';
import { grantSending } from '../modules/compliance/signatures/signatures.usecases.ts';
import type { TenantAction } from '../modules/tenants/tenants.models.ts';
import { readReceiptCounts } from '../modules/receipts/receipts.sql.ts';
import { toMessageView } from '../modules/messages/messages.views.ts';
import {
  listReplies,
  operatorReplyLine,
  toOperatorReplyView,
} from '../modules/replies/replies.repository.ts';
import { AppError } from '../shared/errors.ts';
import { lazyKeyRing, loadKeyRing } from '../shared/secrets.ts';
import type { Config } from './config.ts';
import { openDatabase } from './database.ts';

type Values = Record<string, string | boolean | undefined>;

/** Who the audit log names for a change made with the CLI. */
const CLI_ACTOR = { actor: 'operator-cli' };

/** Send-rate cap of a channel added without --max-tps (the channels table's default). */
const DEFAULT_MAX_TPS = 1000;

export const CHANNEL_ADD_HELP = `hongyan channel add — connect a carrier channel (an SMPP client bind)

Usage: hongyan channel add --name N --host H --system-id S [options]

  --name N             a name for the channel: letters, digits, "_", "-", "."
  --host H             the carrier's SMSC address
  --port P             its SMPP port (default 2775)
  --system-id S        the account the carrier gave you (system_id)
  --password X         its password (at most 8 characters)
  --system-type T      system_type, when the carrier asks for one
  --bind-mode M        transceiver (default) or transmitter_receiver
  --window N           submits awaiting the carrier's answer at once (default 50)
  --max-tps N          messages per second sent on this channel (default ${DEFAULT_MAX_TPS}); set it to
                       the rate in the carrier's contract: above it the carrier throttles or rejects
  --source-addr DIGITS sender number of messages that name none (default 106900)
  --id-convention C    how the carrier writes message ids in responses and receipts: as-is
                       (default), hex-resp-decimal-receipt, decimal-resp-hex-receipt or auto
  --default            the channel listed first (the first channel added is); routing treats
                       every enabled channel alike
  --json               print the channel as JSON

${CHANNEL_ROUTING_HELP}`;

class UsageError extends Error {}

function required(values: Values, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

function intOption(values: Values, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number`);
  return Number(v);
}

function maxTpsText(maxTps: number): string {
  return `max ${maxTps} msg/s${maxTps === DEFAULT_MAX_TPS ? ' (default cap)' : ''}`;
}

export async function runOperatorCommand({
  config,
  command,
  sub,
  rest,
  values,
}: {
  config: Config;
  command: string;
  sub: string | undefined;
  rest: string[];
  values: Values;
}): Promise<number> {
  const json = values.json === true;
  const known = [
    'migrate',
    'tenant',
    'key',
    'member',
    'channel',
    'message',
    'reply',
    'credential',
    'smpp-account',
    'secrets',
    'billing',
    'route',
    'signature',
    'template',
  ];
  if (!known.includes(command)) {
    console.error(`unknown command "${command}"; see hongyan --help`);
    return 2;
  }
  const database = await openDatabase({ config, ownEmbedded: false, poolSize: 2 });
  const out = (value: unknown, human: string) => console.log(json ? JSON.stringify(value, null, 2) : human);
  try {
    const accounts = createAccountsRepository(database.db.kysely);
    const keyRing = lazyKeyRing(() => loadKeyRing({ masterKey: config.masterKey, dataDir: config.dataDir }));
    const channels = createChannelsRepository(database.db.kysely, keyRing);
    if (command === 'route')
      return await runRouteCommand({ sub, rest, values, kysely: database.db.kysely, keyRing, out });
    if (command === 'signature' || command === 'template')
      return await runReviewCommand({ command, sub, rest, values, pool: database.db.pool, out });
    if (command === 'credential')
      return await runCredentialCommand({ sub, rest, values, pool: database.db.pool, keyRing, out });
    if (command === 'smpp-account')
      return await runSmppAccountCommand({ sub, rest, values, pool: database.db.pool, out });
    if (command === 'billing' && COMMERCE_SUBCOMMANDS.includes(sub ?? ''))
      return await runCommerceCommand({ sub: sub!, rest, values, pool: database.db.pool, out });
    if (command === 'billing') return await runBillingCommand({ sub, values, pool: database.db.pool, out });
    switch (`${command} ${sub ?? ''}`.trim()) {
      case 'migrate':
        out({ ok: true }, 'migrations applied');
        return 0;
      case 'tenant create': {
        // Checked before the tenant is made, so a bad value creates nothing.
        const credit = intOption(values, 'credit');
        // --signature NAME (repeatable; main.ts joins them with newlines): approved at once, the
        // first is the default; --free-text: the tenant may send content that is not a template.
        const signatures =
          typeof values.signature === 'string' && values.signature !== '' ? values.signature.split('\n') : [];
        const { tenant, apiKey } = await createTenant({
          name: required(values, 'name'),
          repository: accounts,
        });
        await grantSending({
          db: database.db.pool,
          tenantId: tenant.id,
          signatures,
          freeText: values['free-text'] === true,
          by: 'operator-cli',
        });
        const balance = credit
          ? await creditTenant({
              db: database.db.pool,
              tenantId: tenant.id,
              parts: credit,
              expiresAt: defaultExpiry(new Date()),
              reason: 'initial credit (tenant create --credit)',
              actor: 'operator-cli',
            })
          : null;
        out(
          {
            tenant: {
              id: tenant.id,
              name: tenant.name,
              status: tenant.status,
              sender_code: tenant.sender_code,
              signatures,
              free_text: values['free-text'] === true,
            },
            api_key: apiKey.key,
            balance: balance ?? { available: 0, reserved: 0 },
          },
          `tenant ${tenant.id} "${tenant.name}" created${balance ? ` with ${balance.available} parts` : ''}\nAPI key (shown once): ${apiKey.key}`,
        );
        return 0;
      }
      case 'tenant list': {
        const tenants = await accounts.listTenants();
        out(tenants, tenants.map((t) => `${t.id}\t${t.status}\t${t.name}`).join('\n'));
        return 0;
      }
      case 'key create': {
        const tenantId = intOption(values, 'tenant');
        if (tenantId === undefined) throw new UsageError('--tenant is required');
        const { apiKey } = await createApiKey({
          tenantId,
          name: values.name as string | undefined,
          repository: accounts,
        });
        out(
          { tenant_id: tenantId, key_id: apiKey.keyId, api_key: apiKey.key },
          `API key (shown once): ${apiKey.key}`,
        );
        return 0;
      }
      case 'member add': {
        const tenantId = intOption(values, 'tenant');
        if (tenantId === undefined) throw new UsageError('--tenant is required');
        const role = required(values, 'role');
        if (!(TENANT_ROLES as readonly string[]).includes(role)) {
          throw new UsageError(`--role must be one of ${TENANT_ROLES.join(', ')}`);
        }
        if (!(await accounts.getTenantById(tenantId))) throw tenantNotFound();
        const { member, initial_password } = await addMember({
          db: database.db.pool,
          tenantId,
          email: required(values, 'email'),
          role: role as TenantRole,
          password: values.password as string | undefined,
          by: { actor: 'cli', role: null, ip: null },
          now: new Date(),
        });
        out(
          { member, initial_password },
          `member ${member.id} ${member.email} (${member.role}) added to tenant ${tenantId}` +
            (initial_password ? `\nInitial password (shown once): ${initial_password}` : ''),
        );
        return 0;
      }
      case 'channel add': {
        const input = {
          name: required(values, 'name'),
          host: required(values, 'host'),
          port: intOption(values, 'port') ?? 2775,
          systemId: required(values, 'system-id'),
          password: values.password as string | undefined,
          systemType: values['system-type'] as string | undefined,
          bindMode: values['bind-mode'] as BindMode | undefined,
          windowSize: intOption(values, 'window'),
          maxTps: intOption(values, 'max-tps'),
          sourceAddr: values['source-addr'] as string | undefined,
          isDefault: values.default === true ? true : undefined,
          idConvention: values['id-convention'] as IdConvention | undefined,
          ...routingFlags(values),
        };
        const channel = await addChannel({ db: database.db.kysely, keyRing, input, by: CLI_ACTOR });
        out(
          toChannelView(channel),
          `channel ${channel.id} "${channel.name}" added (${channel.host}:${channel.port})`,
        );
        return 0;
      }
      case 'channel list': {
        const list = (await channels.listChannels()).map(toChannelView);
        // Each channel's live figures (routing/health): binds and nodes, outcomes, rate, latency, cost.
        const stats = new Map((await channelStats(database.db.pool)).map((s) => [s.channelId, s]));
        const health = (id: number) => stats.get(id) ?? null;
        out(
          list.map((c) => ({ ...c, health: health(c.id) })),
          list
            .map(
              (c) =>
                `${c.id}\t${c.name}\t${c.host}:${c.port}\t${c.bind_mode}\twindow ${c.window}\t${maxTpsText(c.max_tps)}\tids ${c.id_convention}${c.id_convention_learned ? ` (learned ${c.id_convention_learned})` : ''}${c.is_default ? '\tdefault' : ''}\n\t${routingLine(c)}${health(c.id) ? `\n\t${statsSummary(health(c.id)!)}` : ''}`,
            )
            .join('\n') || '(no channels)',
        );
        return 0;
      }
      case 'channel set': {
        const target = rest[0];
        if (!target) throw new UsageError('channel set needs a channel name or id');
        const channel = await changeChannel({
          db: database.db.kysely,
          keyRing,
          nameOrId: target,
          patch: channelSetFlags(values),
          by: CLI_ACTOR,
        });
        out(
          toChannelView(channel),
          `channel ${channel.id} "${channel.name}" changed (workers rebind it within seconds): ids ${channel.id_convention}\n\t${routingLine(channel)}`,
        );
        return 0;
      }
      case 'channel stats': {
        // The counters live in the database, shared by every node (the operator HTTP API that
        // will also show them comes with the accounts work).
        const counts = new Map((await readReceiptCounts(database.db.pool)).map((c) => [c.channelId, c]));
        const stats = (await channels.listChannels())
          .filter((c) => rest[0] === undefined || c.name === rest[0] || String(c.id) === rest[0])
          .map((c) => {
            const { channelId: _id, ...receipts } = counts.get(c.id) ?? {
              channelId: c.id,
              received: 0,
              applied: 0,
              parked: 0,
              duplicate: 0,
              expired: 0,
              waiting: 0,
            };
            return {
              id: c.id,
              name: c.name,
              id_convention: c.id_convention,
              id_convention_learned: c.id_convention_learned,
              receipts,
            };
          });
        out(
          stats,
          stats
            .map(
              (s) =>
                `${s.id}\t${s.name}\treceived ${s.receipts.received}\tapplied ${s.receipts.applied}\tparked ${s.receipts.parked} (${s.receipts.waiting} waiting)\tduplicate ${s.receipts.duplicate}\texpired unmatched ${s.receipts.expired}\tids ${s.id_convention}${s.id_convention_learned ? ` (learned ${s.id_convention_learned})` : ''}`,
            )
            .join('\n') || '(no channels)',
        );
        return 0;
      }
      case 'channel remove': {
        const target = rest[0];
        if (!target) throw new UsageError('channel remove needs a channel name or id');
        const removed = await removeChannel({
          db: database.db.kysely,
          keyRing,
          nameOrId: target,
          by: CLI_ACTOR,
        });
        out(toChannelView(removed), `channel ${removed.id} "${removed.name}" removed`);
        return 0;
      }
      case 'secrets rotate': {
        const r = await rotateSecrets({ ...config, pool: database.db.pool, kysely: database.db.kysely });
        out(
          {
            key_id: r.keyId,
            resealed: { credentials: r.credentials, channels: r.channels, totp_seeds: r.totpSeeds },
          },
          `secrets sealed with master key ${r.keyId}${r.generated ? ' (new, in the data folder)' : ''}: ${r.credentials} credential(s), ${r.channels} channel password(s), ${r.totpSeeds} TOTP seed(s) re-sealed`,
        );
        return 0;
      }
      case 'reply list': {
        const views = (
          await listReplies(database.db.kysely, {
            scope: values.unattributed === true ? 'unattributed' : 'all',
            limit: intOption(values, 'limit') ?? 100,
          })
        ).map(toOperatorReplyView);
        out(views, views.map(operatorReplyLine).join('\n') || '(no replies)');
        return 0;
      }
      case 'message get': {
        const id = rest[0];
        if (!id || !/^\d+$/.test(id)) throw new UsageError('message get needs a message id');
        const repository = createMessagesRepository(database.db.kysely);
        const row = await repository.getMessageById(Number(id));
        if (!row) {
          out(
            { error: { code: 'messages.not_found', message: 'No such message.' } },
            `message ${id} not found`,
          );
          return 1;
        }
        // Operators see the channel that carried it (routing) and the node that sent it last.
        const view = {
          // A Verify API code is masked here too: no operator task needs a live code.
          ...toMessageView(row, (await repository.sentCodesOf(row.tenant_id, [row])).get(row.id)),
          tenant_id: row.tenant_id,
          channel_id: row.channel_id,
          node_id: row.claimed_by,
        };
        out(
          view,
          `${view.id}\t${view.to}\t${view.status}\t${view.parts} part(s)\tchannel ${view.channel_id ?? '-'}\tnode ${view.node_id ?? '-'}\n${view.events.map((e) => `  ${e.at}  ${e.status}`).join('\n')}`,
        );
        return 0;
      }
      case 'tenant approve':
      case 'tenant reject':
      case 'tenant suspend':
      case 'tenant activate':
        return await runTenantStatusCommand({
          action: sub as TenantAction,
          rest,
          values,
          pool: database.db.pool,
          out,
        });
      default:
        throw new UsageError(`unknown command "${command} ${sub ?? ''}"; see hongyan --help`);
    }
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof CredentialUsageError ||
      error instanceof SmppAccountUsageError ||
      error instanceof BillingUsageError
    ) {
      console.error(error.message);
      return 2;
    }
    if (error instanceof AppError) {
      out({ error: { code: error.code, message: error.message } }, `error ${error.code}: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await database.close();
  }
}
