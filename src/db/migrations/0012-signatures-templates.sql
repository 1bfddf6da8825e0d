-- Signatures (签名) and templates (模板): a tenant applies, an operator approves or rejects with a
-- reason (seed 002). Messages record the signature and template they were sent with.

-- Free text (content that is not a template) is a privilege the operator grants per tenant.
alter table tenants add column free_text boolean not null default false;

create table signatures (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  name text not null,
  source text not null check (source in ('company', 'trademark', 'app', 'website', 'public_account', 'other')),
  -- What the source is called (the company, the app, the site...) for the reviewer.
  source_detail text not null default '',
  status text not null check (status in ('pending', 'approved', 'rejected')),
  reason text,
  -- Digits appended after the tenant's sender_code in the source address, so that a reply names
  -- the signature it answers. Per tenant, assigned in order: 01, 02, ... (then 100, ...).
  extension_code text not null check (extension_code ~ '^[0-9]{2,4}$'),
  -- The signature a send without sign_name and without a leading 【…】 gets.
  is_default boolean not null default false,
  submitted_at timestamptz not null default now(),
  reviewed_at timestamptz,
  reviewed_by text,
  deleted_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- One live signature per name and tenant; extension codes are never reused, deleted or not.
create unique index signatures_tenant_name on signatures (tenant_id, name) where deleted_at is null;
create unique index signatures_tenant_extension on signatures (tenant_id, extension_code);
create unique index signatures_tenant_default on signatures (tenant_id) where is_default and deleted_at is null;
create index signatures_review_queue on signatures (submitted_at, id) where status = 'pending' and deleted_at is null;

-- Proof documents of a signature (trademark certificate, app store page...); the files live in
-- the tenants module's DocumentStore, as qualification documents do.
create table signature_documents (
  id bigint generated always as identity primary key,
  signature_id bigint not null references signatures (id),
  tenant_id bigint not null references tenants (id),
  content_type text not null,
  size_bytes integer not null,
  sha256 text not null,
  storage_key text not null,
  created_at timestamptz not null default now()
);
create index signature_documents_signature on signature_documents (signature_id, id);

create table templates (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  name text not null,
  type text not null check (type in ('verification', 'notification', 'marketing', 'international')),
  content text not null,
  -- Declared variables: [{ "name": "code", "kind": "code", "max_length": 8 }, ...]
  variables jsonb not null default '[]',
  allow_urls boolean not null default false,
  allow_phones boolean not null default false,
  status text not null check (status in ('pending', 'approved', 'rejected')),
  reason text,
  -- What the rules engine found when the template was submitted (shown to tenant and reviewer).
  findings jsonb not null default '[]',
  submitted_at timestamptz not null default now(),
  reviewed_at timestamptz,
  reviewed_by text,
  deleted_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index templates_tenant on templates (tenant_id, id) where deleted_at is null;
create index templates_review_queue on templates (submitted_at, id) where status = 'pending' and deleted_at is null;

alter table messages add column signature_id bigint, add column template_id bigint;
