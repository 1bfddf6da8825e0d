// Row types of the tables in migrations/, for Kysely. Hot paths use hand-written SQL instead.
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface OperatorsTable {
  id: Generated<number>;
  username: string;
  password_hash: string;
  created_at: Timestamp;
}

// pending_review and rejected: self-registered tenants under review (migration 0005).
export type TenantStatus = 'pending_review' | 'active' | 'rejected' | 'suspended';

export interface TenantsTable {
  id: Generated<number>;
  name: string;
  status: ColumnType<TenantStatus, TenantStatus | undefined, TenantStatus>;
  require_two_factor: ColumnType<boolean, boolean | undefined, boolean>;
  sender_code: string | null;
  created_at: Timestamp;
  /** Days final messages keep their content; null: HONGYAN_CONTENT_RETENTION_DAYS (migration 0009). */
  content_retention_days: ColumnType<number | null, number | null | undefined, number | null>;
  content_purged_through_id: ColumnType<number, number | undefined, number>;
  /** The operator lets this tenant send free text, not only templates (migration 0012). */
  free_text: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface ApiKeysTable {
  id: Generated<number>;
  tenant_id: number;
  key_id: string;
  secret_hash: Buffer;
  name: ColumnType<string, string | undefined, string>;
  created_at: Timestamp;
  revoked_at: NullableTimestamp;
}

export interface ChannelsTable {
  id: Generated<number>;
  name: string;
  host: string;
  port: number;
  system_id: string;
  password: ColumnType<string, string | undefined, string>;
  system_type: ColumnType<string, string | undefined, string>;
  bind_mode: ColumnType<'transceiver' | 'transmitter_receiver', string | undefined, string>;
  window_size: ColumnType<number, number | undefined, number>;
  max_tps: ColumnType<number, number | undefined, number>;
  source_addr: ColumnType<string, string | undefined, string>;
  is_default: ColumnType<boolean, boolean | undefined, boolean>;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  id_convention: ColumnType<string, string | undefined, string>;
  id_convention_learned: string | null;
  id_convention_learned_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  // Routing (migration 0015).
  carriers: ColumnType<string[], string[] | undefined, string[]>;
  message_types: ColumnType<string[], string[] | undefined, string[]>;
  /** numeric(12,5): pg returns it as a string, kept exact. */
  cost_per_part: ColumnType<string, string | undefined, string>;
  cost_currency: ColumnType<string, string | undefined, string>;
  weight: ColumnType<number, number | undefined, number>;
  binds: ColumnType<number, number | undefined, number>;
  accepts_extension: ColumnType<boolean, boolean | undefined, boolean>;
  // Routing health (migration 0019); numeric(4,3) comes back as a string.
  degrade_below: ColumnType<string, string | number | undefined, string | number>;
  recover_above: ColumnType<string, string | number | undefined, string | number>;
  probe_share: ColumnType<string, string | number | undefined, string | number>;
  channel_specific_codes: ColumnType<string[], string[] | undefined, string[]>;
}

// Channel switch events and bind leases (migration 0019).
export interface ChannelEventsTable {
  id: Generated<number>;
  channel_id: number;
  kind: string;
  reason: string;
  node_id: string | null;
  delivery_rate: string | null;
  samples: number | null;
  created_at: Timestamp;
}

export interface ChannelBindLeasesTable {
  channel_id: number;
  slot: number;
  node_id: string;
  expires_at: Timestamp;
  taken_at: Timestamp;
}

// Routes, their channel groups and ported-number overrides (migration 0015).
export interface RoutesTable {
  id: Generated<number>;
  position: number;
  tenant_id: number | null;
  message_type: string | null;
  carrier: string | null;
  country_prefix: string | null;
  signature: string | null;
  description: ColumnType<string, string | undefined, string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RouteChannelsTable {
  route_id: number;
  channel_id: number;
  tier: ColumnType<number, number | undefined, number>;
  weight: ColumnType<number, number | undefined, number>;
}

export interface NumberCarriersTable {
  number: string;
  carrier: string;
  note: ColumnType<string, string | undefined, string>;
  updated_at: Timestamp;
}

export interface BatchesTable {
  id: Generated<number>;
  tenant_id: number;
  type: string;
  content: string;
  send_at: NullableTimestamp;
  total: number;
  accepted: number;
  rejected: number;
  canceled_at: NullableTimestamp;
  created_at: Timestamp;
  /** When every message of the batch was final (migration 0028); null while any is not. */
  completed_at: NullableTimestamp;
}

export interface MessagesTable {
  id: Generated<number>;
  tenant_id: number;
  batch_id: number | null;
  type: string;
  priority: number;
  recipient: string;
  content: string;
  encoding: string;
  parts: number;
  client_ref: string | null;
  status: string;
  channel_id: number | null;
  source_addr: string | null;
  send_at: NullableTimestamp;
  next_attempt_at: Timestamp;
  attempts: ColumnType<number, number | undefined, number>;
  claimed_by: string | null;
  duplicate_risk: ColumnType<boolean, boolean | undefined, boolean>;
  carrier_message_id: string | null;
  parts_delivered: ColumnType<number, number | undefined, number>;
  parts_failed: ColumnType<number, number | undefined, number>;
  error_code: string | null;
  error_detail: string | null;
  created_at: Timestamp;
  held_at: NullableTimestamp;
  queued_at: NullableTimestamp;
  sending_at: NullableTimestamp;
  sent_at: NullableTimestamp;
  done_at: NullableTimestamp;
  canceled_at: NullableTimestamp;
  updated_at: Timestamp;
  /** The signature and template the message was sent with (migration 0012). */
  signature_id: ColumnType<number | null, number | null | undefined, number | null>;
  template_id: ColumnType<number | null, number | null | undefined, number | null>;
  /** The message's own status callback (migration 0020, webhooks). */
  callback_url: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface InboundMessagesTable {
  id: Generated<number>;
  tenant_id: number | null;
  channel_id: number | null;
  sender: string;
  destination: string;
  content: string;
  received_at: Timestamp;
  data_coding: number | null;
  raw_hex: string | null;
  sanitized: Generated<boolean>;
  parts: Generated<number>;
  incomplete: Generated<boolean>;
  attribution: Generated<'extension' | 'recent_sender' | 'ambiguous' | 'unknown'>;
  candidate_tenant_ids: string[] | null;
}

export interface NodesTable {
  id: string;
  roles: string[];
  hostname: string;
  pid: number;
  started_at: Timestamp;
  seen_at: Timestamp;
}

export interface Database {
  operators: OperatorsTable;
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  channels: ChannelsTable;
  routes: RoutesTable;
  route_channels: RouteChannelsTable;
  number_carriers: NumberCarriersTable;
  channel_events: ChannelEventsTable;
  channel_bind_leases: ChannelBindLeasesTable;
  batches: BatchesTable;
  messages: MessagesTable;
  inbound_messages: InboundMessagesTable;
  nodes: NodesTable;
  compliance_rule_sets: ComplianceRuleSetsTable;
  compliance_rule_words: ComplianceRuleWordsTable;
  compliance_rules_revision: ComplianceRulesRevisionTable;
  signatures: SignaturesTable;
  signature_documents: SignatureDocumentsTable;
  templates: TemplatesTable;
  billing_balances: BillingBalancesTable;
  billing_lots: BillingLotsTable;
  billing_ledger: BillingLedgerTable;
  billing_packages: BillingPackagesTable;
  billing_prices: BillingPricesTable;
  billing_orders: BillingOrdersTable;
  billing_alert_state: BillingAlertStateTable;
  billing_events: BillingEventsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
}

// Signatures and templates (migration 0012).
export type ReviewStatus = 'pending' | 'approved' | 'rejected';

export interface SignaturesTable {
  id: Generated<number>;
  tenant_id: number;
  name: string;
  source: string;
  source_detail: ColumnType<string, string | undefined, string>;
  status: ReviewStatus;
  reason: string | null;
  extension_code: string;
  is_default: ColumnType<boolean, boolean | undefined, boolean>;
  submitted_at: Timestamp;
  reviewed_at: NullableTimestamp;
  reviewed_by: string | null;
  deleted_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SignatureDocumentsTable {
  id: Generated<number>;
  signature_id: number;
  tenant_id: number;
  content_type: string;
  size_bytes: number;
  sha256: string;
  storage_key: string;
  created_at: Timestamp;
}

export interface TemplateVariableRow {
  name: string;
  kind: string;
  max_length?: number;
}

export interface TemplatesTable {
  id: Generated<number>;
  tenant_id: number;
  name: string;
  type: string;
  content: string;
  variables: ColumnType<TemplateVariableRow[], string | undefined, string>;
  allow_urls: ColumnType<boolean, boolean | undefined, boolean>;
  allow_phones: ColumnType<boolean, boolean | undefined, boolean>;
  status: ReviewStatus;
  reason: string | null;
  findings: ColumnType<unknown[], string | undefined, string>;
  submitted_at: Timestamp;
  reviewed_at: NullableTimestamp;
  reviewed_by: string | null;
  deleted_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

// Content rule sets of the compliance rules engine (migration 0011).
export interface ComplianceRuleSetsTable {
  id: string;
  name: string;
  kind: string;
  severity: 'block' | 'warn';
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  types: string[];
  subjects: string[];
  position: number;
  version: ColumnType<number, number | undefined, number>;
  updated_at: Timestamp;
}

export interface ComplianceRuleWordsTable {
  set_id: string;
  word: string;
}

export interface ComplianceRulesRevisionTable {
  id: ColumnType<boolean, boolean | undefined, boolean>;
  revision: number;
}

// Billing, ledger side (migration 0013): balances, credit lots, the append-only ledger. bigint
// columns are parsed as numbers by the pool (src/db/pool.ts).
export interface BillingBalancesTable {
  tenant_id: number;
  available: ColumnType<number, number | undefined, number>;
  reserved: ColumnType<number, number | undefined, number>;
  updated_at: Timestamp;
}

export interface BillingLotsTable {
  id: Generated<number>;
  tenant_id: number;
  source: 'order' | 'credit' | 'adjust';
  order_id: number | null;
  parts_total: number;
  parts_left: number;
  expires_at: Timestamp;
  created_at: Timestamp;
}

export interface BillingLedgerTable {
  id: Generated<number>;
  tenant_id: number;
  kind: 'reserve' | 'capture' | 'refund' | 'release' | 'credit' | 'adjust' | 'expire';
  available_delta: number;
  reserved_delta: number;
  units: number | null;
  message_id: number | null;
  batch_id: number | null;
  order_id: number | null;
  lot_id: number | null;
  reason: string | null;
  actor: string | null;
  created_at: Timestamp;
}

// Billing, commerce side (migration 0014): packages, prices, orders, low-balance alerts, events.
// Numeric money columns come back from pg as decimal text.
export interface BillingPackagesTable {
  id: Generated<number>;
  name: string;
  parts: number;
  price: string;
  currency: ColumnType<string, string | undefined, string>;
  validity_days: number;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface BillingPricesTable {
  id: Generated<number>;
  type: string | null;
  destination: 'domestic' | 'international';
  country_code: string | null;
  units_per_part: number;
  price_per_part: ColumnType<string, string | undefined, string>;
  currency: ColumnType<string, string | undefined, string>;
  updated_at: Timestamp;
}

export interface BillingOrdersTable {
  id: Generated<number>;
  tenant_id: number;
  package_id: number;
  parts: number;
  price: string;
  currency: string;
  validity_days: number;
  status: ColumnType<'created' | 'paid' | 'credited' | 'canceled', string | undefined, string>;
  payment_reference: string | null;
  created_by: string;
  confirmed_by: string | null;
  created_at: Timestamp;
  paid_at: NullableTimestamp;
  credited_at: NullableTimestamp;
  canceled_at: NullableTimestamp;
}

export interface BillingAlertStateTable {
  tenant_id: number;
  threshold: number | null;
  alerted_at: NullableTimestamp;
  alerted_available: number | null;
  alert_message_id: number | null;
}

export interface BillingEventsTable {
  id: Generated<number>;
  tenant_id: number;
  kind: string;
  payload: unknown;
  created_at: Timestamp;
}

// Recipient protection (migration 0018); its statements are hand-written SQL in
// src/modules/compliance/protection/, these are the row shapes.
export interface OptOutsTable {
  tenant_id: number;
  phone: string;
  signature_id: number | null;
  source: 'reply' | 'api' | 'import';
  inbound_id: number | null;
  created_at: Timestamp;
}

export interface RecipientListTable {
  tenant_id: number;
  phone: string;
  reason: 'complaint' | 'carrier_list' | 'repeated_opt_out' | 'other';
  note: string | null;
  created_at: Timestamp;
}

export interface RecipientSendsTable {
  tenant_id: number;
  recipient: string;
  type: string;
  sent_at: Timestamp;
}

export interface MarketingReviewsTable {
  batch_id: number;
  tenant_id: number;
  status: 'pending' | 'approved' | 'rejected';
  submitted_at: Timestamp;
  expected_by: Timestamp;
  decided_at: NullableTimestamp;
  decided_by: string | null;
  reason: string | null;
}

// Webhooks (migration 0020).
export interface WebhookEndpointsTable {
  id: Generated<number>;
  tenant_id: number;
  url: string;
  events: string[];
  description: ColumnType<string, string | undefined, string>;
  secret_sealed: string;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  /** hongyan, aliyun or tencent (migration 0030). */
  format: ColumnType<string, string | undefined, string>;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  tenant_id: number;
  endpoint_id: number | null;
  callback_url: string | null;
  event_id: number;
  event_type: string;
  message_id: number | null;
  payload: unknown;
  state: ColumnType<'pending' | 'delivered' | 'dead', 'pending' | 'delivered' | 'dead' | undefined, string>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  leased_until: NullableTimestamp;
  last_status: number | null;
  last_error: string | null;
  attempt_ids: ColumnType<number[], number[] | undefined, number[]>;
  replay_of: number | null;
  created_at: Timestamp;
  done_at: NullableTimestamp;
}

export interface WebhookAttemptsTable {
  id: Generated<number>;
  tenant_id: number;
  endpoint_id: number | null;
  url: string;
  delivery_ids: number[];
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  at: Date;
}
