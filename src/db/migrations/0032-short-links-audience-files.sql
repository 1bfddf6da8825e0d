-- When an operator last disabled or enabled a short link (the database's clock). Every node's
-- redirect cache reads the links changed since its last look, once a second, so a disable
-- reaches every node within about a second without the redirect asking PostgreSQL per click.
alter table short_links add column changed_at timestamptz;
create index short_links_changed on short_links (changed_at) where changed_at is not null;
