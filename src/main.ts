// The `hongyan` command line: start | migrate | simulator | tenant | key | channel | message | config | bench.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, renderConfigReference } from './app/config.ts';
import { CHANNEL_ADD_HELP, runOperatorCommand } from './app/operator-cli.ts';
import { BILLING_HELP } from './modules/billing/billing.cli.ts';
import { COMMERCE_HELP } from './modules/billing/commerce/commerce.cli.ts';
import { CHANNEL_SET_HELP } from './modules/channels/channels.cli.ts';
import { ROUTE_HELP } from './modules/routing/routing.cli.ts';
import { COMPLIANCE_REVIEW_HELP } from './modules/compliance/signatures/signatures.cli.ts';

const HELP = `hongyan — self-hosted SMS platform (鸿雁)

Usage:
  hongyan start [--roles api,worker,simulator]   run the platform (all roles by default)
  hongyan migrate                                apply database migrations and exit
  hongyan simulator [--port 2775] [--host 127.0.0.1] [--profile NAME|FILE.json] [--state-dir DIR]
                                                 run the carrier simulator alone
  hongyan tenant create --name NAME              create a tenant and its first API key
                 [--credit PARTS]               with PARTS of credit (expiring in 365 days)
                 [--signature NAME]... [--free-text]
                                                 approved signatures (the first is the default);
                                                 free text besides templates
  hongyan tenant list
  hongyan tenant approve|suspend|activate ID     review decision or suspension (audited; suspension
                                                 holds queued messages until activate)
  hongyan tenant reject ID --reason TEXT         reject an application; the tenant sees the reason
${COMPLIANCE_REVIEW_HELP}
  hongyan key create --tenant ID [--name NAME]   create another API key for a tenant
  hongyan member add --tenant ID --email E --role R [--password P]
                                                 a tenant member (owner, admin, developer, sender,
                                                 finance, viewer); initial password shown once
  hongyan channel add --name N --host H --port P --system-id S [--password X]
        [--bind-mode transceiver|transmitter_receiver] [--window N (default 50)]
        [--max-tps N (default 1000 messages/s)] [--source-addr DIGITS] [--default]
        [--id-convention as-is|hex-resp-decimal-receipt|decimal-resp-hex-receipt|auto]
                                                 (hongyan channel add --help: every option)
  hongyan channel list
  hongyan channel set NAME|ID [options]         change a channel: connection, --id-convention (forgets
                                                 what auto learned), --carriers, --types, --cost,
                                                 --weight, --binds, --extension, --enable/--disable
                                                 (hongyan channel set --help)
  hongyan channel stats [NAME|ID]                receipts received, applied, parked, duplicate, expired
  hongyan channel remove NAME|ID
  hongyan credential create --tenant ID --name N --scopes send,read[,templates,billing,webhooks]
        [--allow CIDR[,CIDR...]] [--rate-limit N]   a signed API credential (AppSecret shown once)
  hongyan credential list --tenant ID
  hongyan credential rotate ID --tenant ID       a new credential; the old one works until revoked
  hongyan credential revoke ID --tenant ID
  hongyan secrets rotate                         new master key; re-seals every stored secret
  hongyan smpp-account create --tenant ID [--system-id S] [--allow CIDR[,CIDR...]] [--window N] [--tps N]
                                                 an SMPP account to bind as an ESME (password shown once)
  hongyan smpp-account list --tenant ID
  hongyan smpp-account disable ID --tenant ID    binds refused, bound sessions closed
${BILLING_HELP}
${COMMERCE_HELP}
  hongyan message get ID
  hongyan route list|add|remove|test|port|unport|ports
                                                 the route table, the decision for a number, ported
                                                 numbers (hongyan route --help)
  hongyan reply list [--unattributed] [--limit N]
                                                 replies (MO), newest first; --unattributed: those
                                                 given to no tenant (the operator decides)
  hongyan config docs                            print the configuration reference
  hongyan config check                           validate the configuration and exit
  hongyan bench [--messages N]                   run the end-to-end benchmark
  hongyan bench --kannel [--messages N] [--rounds R]
                                                the same SMSC through Kannel and Hongyan, side by side
                                                (R rounds alternating the systems: medians)
  hongyan bench --carrier [--messages N]         an SMSC not ours: clean, token-bucket and random throttling
  hongyan bench --compliance                     the content rules engine: matcher MB/s, 10,000 messages
  hongyan bench --signed                         signed (HMAC) against bearer single sends (DATABASE_URL)
  hongyan bench --protection                     blacklists of 1,000,000 and caps on a 10,000-recipient batch
                                                 (a temporary embedded PostgreSQL, or DATABASE_URL)
  hongyan bench --contacts-import [--messages N] a contact import of N CSV rows (default 1,000,000): rows/s, peak RSS
  hongyan bench --smpp-server [--messages N]     submits/s into Hongyan's SMPP server with the npm smpp client
  hongyan bench --shortlinks                     short-link redirects/s (GET /s/:code) and their latency (DATABASE_URL)
  hongyan bench --billing [--messages N]         billing on against HONGYAN_BILLING=off, end to end, phases alternating
  hongyan bench --webhooks [--messages N]        webhooks on for every message against off, end to end
  hongyan bench --routing [--messages N]         a route table of several rules over 2 channels against
                                                 none (1 channel), end to end, phases alternating

Options: --json (machine-readable output), --config FILE (JSON config file).
Settings come from the environment (DATABASE_URL, HONGYAN_DATA_DIR, HONGYAN_HTTP_PORT, ...);
see docs/configuration.md.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      config: { type: 'string' },
      roles: { type: 'string' },
      name: { type: 'string' },
      tenant: { type: 'string' },
      reason: { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'system-id': { type: 'string' },
      password: { type: 'string' },
      'system-type': { type: 'string' },
      'bind-mode': { type: 'string' },
      window: { type: 'string' },
      'max-tps': { type: 'string' },
      'source-addr': { type: 'string' },
      'id-convention': { type: 'string' },
      // Routing (channel add|set, route …).
      carriers: { type: 'string' },
      types: { type: 'string' },
      cost: { type: 'string' },
      currency: { type: 'string' },
      weight: { type: 'string' },
      binds: { type: 'string' },
      extension: { type: 'string' },
      enable: { type: 'boolean' },
      disable: { type: 'boolean' },
      channels: { type: 'string' },
      // hongyan route breaker (routing health).
      'degrade-below': { type: 'string' },
      'recover-above': { type: 'string' },
      'probe-share': { type: 'string' },
      'specific-codes': { type: 'string' },
      type: { type: 'string' },
      network: { type: 'string' },
      country: { type: 'string' },
      // Repeatable for tenant create; other commands take the last (see below).
      signature: { type: 'string', multiple: true },
      'free-text': { type: 'boolean' },
      position: { type: 'string' },
      description: { type: 'string' },
      to: { type: 'string' },
      content: { type: 'string' },
      number: { type: 'string' },
      note: { type: 'string' },
      default: { type: 'boolean' },
      unattributed: { type: 'boolean' },
      scopes: { type: 'string' },
      allow: { type: 'string' },
      'rate-limit': { type: 'string' },
      credit: { type: 'string' },
      parts: { type: 'string' },
      expires: { type: 'string' },
      price: { type: 'string' },
      'validity-days': { type: 'string' },
      reference: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string' },
      profile: { type: 'string' },
      'state-dir': { type: 'string' },
      messages: { type: 'string' },
      rounds: { type: 'string' },
      kannel: { type: 'boolean', default: false },
      carrier: { type: 'boolean', default: false },
      compliance: { type: 'boolean', default: false },
      protection: { type: 'boolean', default: false },
      'contacts-import': { type: 'boolean', default: false },
      signed: { type: 'boolean', default: false },
      'smpp-server': { type: 'boolean', default: false },
      shortlinks: { type: 'boolean', default: false },
      billing: { type: 'boolean', default: false },
      routing: { type: 'boolean', default: false },
      webhooks: { type: 'boolean', default: false },
      tps: { type: 'string' }, // hongyan smpp-account create --tps
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub, ...rest] = positionals;
  const signatures = values.signature ?? [];
  const flat = { ...values, signature: command === 'tenant' ? signatures.join('\n') : signatures.at(-1) };
  if (values.help || command === undefined || command === 'help') {
    console.log(
      command === 'channel' && sub === 'add'
        ? CHANNEL_ADD_HELP
        : command === 'channel' && sub === 'set'
          ? CHANNEL_SET_HELP
          : command === 'route'
            ? ROUTE_HELP
            : HELP,
    );
    return 0;
  }
  if (command === 'config' && sub === 'docs') {
    process.stdout.write(renderConfigReference());
    return 0;
  }
  const config = loadConfig({ configFile: values.config ?? process.env.HONGYAN_CONFIG ?? null });
  switch (command) {
    case 'start': {
      const { startHongyan } = await import('./app/start.ts');
      const roles = (values.roles ?? 'api,worker,simulator').split(',').map((r) => r.trim());
      await startHongyan({ config, roles, json: values.json, serveConsole: config.console });
      return -1; // keeps running until a signal
    }
    case 'simulator': {
      const { runSimulatorCommand } = await import('./modules/simulator/simulator.cli.ts');
      await runSimulatorCommand({
        config,
        host: values.host,
        port: values.port,
        profile: values.profile,
        stateDir: values['state-dir'],
      });
      return -1;
    }
    case 'bench': {
      // A count the bench runs with: a whole number ≥ 1 (`--messages abc` ran with NaN before).
      const count = (name: 'messages' | 'rounds'): number | undefined => {
        const v = values[name];
        if (v === undefined) return undefined;
        if (!/^[1-9]\d{0,8}$/.test(v))
          throw new BenchUsageError(`--${name} must be a whole number ≥ 1, not "${v}"`);
        return Number(v);
      };
      let messages: number | undefined;
      let rounds: number | undefined;
      try {
        messages = count('messages');
        rounds = count('rounds');
      } catch (error) {
        if (!(error instanceof BenchUsageError)) throw error;
        console.error(`hongyan bench: ${error.message}`);
        return 2;
      }
      if (values.billing) {
        const { runBillingBench } = await import('../bench/billing.ts');
        await runBillingBench(messages === undefined ? {} : { messages });
        return 0;
      }
      if (values.routing) {
        const { runRoutingBench } = await import('../bench/routing.ts');
        await runRoutingBench(messages === undefined ? {} : { messages });
        return 0;
      }
      if (values.webhooks) {
        const { runWebhooksBench } = await import('../bench/webhooks.ts');
        await runWebhooksBench(messages === undefined ? {} : { messages });
        return 0;
      }
      if (values.shortlinks) {
        const { runShortLinksBench } = await import('../bench/shortlinks.ts');
        await runShortLinksBench();
        return 0;
      }
      if (values['smpp-server']) {
        const { runSmppServerBench } = await import('../bench/smpp-server.ts');
        await runSmppServerBench({
          messages,
        });
        return 0;
      }
      if (values.signed) {
        const { runSignedBench } = await import('../bench/signed.ts');
        await runSignedBench();
        return 0;
      }
      if (values['contacts-import']) {
        const { runContactsImportBench } = await import('../bench/contacts-import.ts');
        await runContactsImportBench(messages === undefined ? {} : { rows: messages });
        return 0;
      }
      if (values.protection) {
        const { runProtectionBench } = await import('../bench/protection.ts');
        await runProtectionBench();
        return 0;
      }
      if (values.compliance) {
        const { runComplianceBench } = await import('../bench/compliance.ts');
        await runComplianceBench();
        return 0;
      }
      if (values.carrier) {
        const { runCarrierBench } = await import('../bench/carrier.ts');
        await runCarrierBench({
          messages,
        });
        return 0;
      }
      if (values.kannel) {
        const { runKannelBench } = await import('../bench/kannel.ts');
        await runKannelBench({
          messages,
          rounds,
        });
        return 0;
      }
      const { runBench } = await import('../bench/e2e.ts');
      await runBench({ messages });
      return 0;
    }
    case 'config':
      if (sub === 'check') {
        console.log(values.json ? JSON.stringify({ ok: true }) : 'configuration is valid');
        return 0;
      }
      break;
    default:
      return runOperatorCommand({ config, command, sub, rest, values: flat });
  }
  console.error(`unknown command: ${positionals.join(' ')}\n\n${HELP}`);
  return 2;
}

/** A bench flag's value that is not what the flag takes (exit 2, as for any usage error). */
class BenchUsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    const e = error as { code?: string; message?: string };
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      console.error(`${e.message}\n\n${HELP}`);
      process.exit(2);
    }
    // A port taken or a data folder out of reach: the message says what to do; a stack would bury it.
    const expected = e instanceof Error && ['StartError', 'EmbeddedPostgresError'].includes(e.name);
    console.error(
      expected ? e.message : error instanceof Error ? (error.stack ?? error.message) : String(error),
    );
    process.exit(1);
  },
);
