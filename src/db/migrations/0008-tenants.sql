-- Tenant onboarding: the company profile a self-registered tenant submits, the outcome of its
-- review, and its qualification documents (the files live in a DocumentStore; rows hold the key).
-- Operator-created tenants keep these columns empty and start active.
alter table tenants
  add column company_name text,
  add column credit_code text,
  add column contact_name text,
  add column contact_phone text,
  add column contact_email text,
  add column industry text,
  -- The reason of the last rejection or suspension, shown to the tenant.
  add column status_reason text,
  -- When the application entered the review queue (registration or resubmission): the queue's age.
  add column submitted_at timestamptz,
  add column reviewed_at timestamptz;

create index tenants_review_queue on tenants (submitted_at, id) where status = 'pending_review';

create table tenant_documents (
  id bigserial primary key,
  tenant_id bigint not null references tenants (id),
  kind text not null check (kind in ('business_licence', 'legal_rep_id', 'industry_licence')),
  -- Found from the first bytes, never from the name or the declared type.
  content_type text not null,
  size_bytes integer not null,
  sha256 text not null,
  storage_key text not null,
  created_at timestamptz not null default now()
);
create index tenant_documents_tenant on tenant_documents (tenant_id, id);
