// The routing flags of `hongyan channel add|set` (issue 10), read into a channel patch.
import { invalidChannel } from './channels.errors.ts';
import type { BindMode, ChannelPatch, IdConvention } from './channels.models.ts';

type Values = Record<string, string | boolean | undefined>;

/** A flag the CLI cannot read is an invalid channel setting (channels.invalid, exit 1). */
const flagError = (message: string) => invalidChannel({ message });

export const CHANNEL_ROUTING_HELP = `Routing (hongyan channel add and hongyan channel set):
  --carriers LIST      networks it covers, comma-separated: cmcc, cucc, ctcc, cbn (China
                       Broadnet), satellite, intl (every other country) or intl:CC (one country,
                       e.g. intl:852); default cmcc,cucc,ctcc,cbn,intl
  --types LIST         message types it may carry: verification,notification,marketing (default all)
  --cost DECIMAL       cost price per part, e.g. 0.032 (default 0)
  --currency CODE      currency of the cost (default CNY)
  --weight N           its share in the default group, used when no route table exists (default 1)
  --binds N            binds the carrier allows this account (default 1)
  --extension yes|no   whether the carrier accepts a tenant extension after the sender number
  --enable, --disable  take traffic, or not (a disabled channel is unbound within seconds)`;

export const CHANNEL_SET_HELP = `hongyan channel set NAME|ID [options] — change a channel; workers rebind it within seconds

  --host H, --port P, --system-id S, --password X, --system-type T, --bind-mode M, --window N,
  --max-tps N, --source-addr DIGITS, --id-convention C   as for channel add (see its --help)

${CHANNEL_ROUTING_HELP}`;

function int(values: Values, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw flagError(`--${name} must be a whole number`);
  return Number(v);
}

const str = (values: Values, name: string) =>
  typeof values[name] === 'string' ? (values[name] as string) : undefined;
const list = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '');

/** The routing flags alone (channel add adds them to its own). */
export function routingFlags(values: Values): ChannelPatch {
  const extension = str(values, 'extension');
  if (extension !== undefined && !['yes', 'no'].includes(extension))
    throw flagError('--extension must be yes or no');
  if (values.enable === true && values.disable === true) throw flagError('--enable and --disable together');
  const patch: ChannelPatch = {
    carriers: list(str(values, 'carriers')),
    messageTypes: list(str(values, 'types')),
    costPerPart: str(values, 'cost'),
    costCurrency: str(values, 'currency'),
    weight: int(values, 'weight'),
    binds: int(values, 'binds'),
    acceptsExtension: extension === undefined ? undefined : extension === 'yes',
    enabled: values.enable === true ? true : values.disable === true ? false : undefined,
  };
  return patch;
}

/** Every flag `channel set` takes. */
export function channelSetFlags(values: Values): ChannelPatch {
  const patch: ChannelPatch = {
    host: str(values, 'host'),
    port: int(values, 'port'),
    systemId: str(values, 'system-id'),
    password: str(values, 'password'),
    systemType: str(values, 'system-type'),
    bindMode: str(values, 'bind-mode') as BindMode | undefined,
    windowSize: int(values, 'window'),
    maxTps: int(values, 'max-tps'),
    sourceAddr: str(values, 'source-addr'),
    idConvention: str(values, 'id-convention') as IdConvention | undefined,
    ...routingFlags(values),
  };
  if (Object.values(patch).every((v) => v === undefined))
    throw flagError('channel set needs at least one option; see hongyan channel set --help');
  return patch;
}

/** One line of `channel list` for routing: what it covers and costs. */
export function routingLine(c: {
  carriers: string[];
  message_types: string[];
  cost_per_part: string;
  cost_currency: string;
  weight: number;
  binds: number;
  accepts_extension: boolean;
  enabled: boolean;
}): string {
  return [
    c.enabled ? 'enabled' : 'disabled',
    `covers ${c.carriers.join(',')}`,
    `types ${c.message_types.join(',')}`,
    `cost ${Number(c.cost_per_part)} ${c.cost_currency}/part`,
    `weight ${c.weight}`,
    `binds ${c.binds}`,
    c.accepts_extension ? 'extension ok' : 'no extension',
  ].join('\t');
}
