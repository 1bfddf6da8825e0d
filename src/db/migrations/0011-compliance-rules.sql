-- Content rule sets of the compliance rules engine (issue 8, src/modules/compliance/rules/): the
-- operator edits each set's severity, whether it is on, and its words; which message types and
-- subjects (template, message) a set applies to comes with the set. Every change bumps the set's
-- version and the one revision row, which each node's rules provider reads (one indexed row, at
-- most every few seconds) to know when to recompile, so an edit on one node reaches all of them.
create table compliance_rule_sets (
  id text primary key check (id ~ '^[a-z0-9_]{1,64}$'),
  name text not null,
  kind text not null check (kind in ('banned_word', 'prohibited_industry', 'contact_diversion',
    'double_signature', 'themeless_template', 'absolute_claim', 'missing_opt_out', 'too_long')),
  severity text not null check (severity in ('block', 'warn')),
  enabled boolean not null default true,
  types text[] not null check (types <@ array['verification', 'notification', 'marketing']),
  subjects text[] not null check (subjects <@ array['template', 'message']),
  position integer not null,
  version bigint not null default 1,
  updated_at timestamptz not null default now()
);

-- Words as the operator entered them; the engine folds case, width and separators when it compiles.
create table compliance_rule_words (
  set_id text not null references compliance_rule_sets (id) on delete cascade,
  word text not null check (char_length(word) between 1 and 100),
  primary key (set_id, word)
);

create table compliance_rules_revision (
  id boolean primary key default true check (id),
  revision bigint not null
);
insert into compliance_rules_revision (id, revision) values (true, 1);

-- The defaults of src/modules/compliance/rules/default-rules.ts (a test keeps them equal).
insert into compliance_rule_sets (id, name, kind, severity, enabled, types, subjects, position) values
  ('banned_words', 'Banned words', 'banned_word', 'block', true, array['verification', 'notification', 'marketing'], array['template', 'message'], 1),
  ('prohibited_industries', 'Industries not allowed in marketing (seed 002)', 'prohibited_industry', 'block', true, array['marketing'], array['template', 'message'], 2),
  ('contact_diversion', 'Contact diversion (加QQ, 加微信), every type (seed 002)', 'contact_diversion', 'block', true, array['verification', 'notification', 'marketing'], array['template', 'message'], 3),
  ('double_signature', 'A second 【signature】, every type (seed 002)', 'double_signature', 'block', true, array['verification', 'notification', 'marketing'], array['template', 'message'], 4),
  ('themeless_templates', 'Templates without a theme (您好#content#), greetings that do not count as one', 'themeless_template', 'block', true, array['verification', 'notification', 'marketing'], array['template'], 5),
  ('absolute_claims', 'Absolute claims in marketing (Advertising Law art. 9)', 'absolute_claim', 'block', true, array['marketing'], array['template', 'message'], 6),
  ('absolute_claims_review', 'Words that are often absolute claims (第一次 is not): a warning for the reviewer', 'absolute_claim', 'warn', true, array['marketing'], array['template', 'message'], 7),
  ('opt_out_text', 'Opt-out text a marketing message must carry (回T退订, 拒收请回复R)', 'missing_opt_out', 'block', true, array['marketing'], array['template', 'message'], 8),
  ('length', 'Length: more parts than the tenant or operator allows', 'too_long', 'block', true, array['verification', 'notification', 'marketing'], array['template', 'message'], 9);

insert into compliance_rule_words (set_id, word)
select 'banned_words', w from unnest(array[
  '色情', '裸聊', '赌博', '博彩', '六合彩', '私彩', '赌场', '代开发票', '发票代开', '办证', '枪支', '毒品', '冰毒', '迷药', '信用卡套现',
  '套现', '洗钱', '假币', '传销', '刷单', '反动', '黄赌毒', '病毒', '木马'
]) as w;

insert into compliance_rule_words (set_id, word)
select 'prohibited_industries', w from unnest(array[
  '房产', '楼盘', '贷款', '网贷', '借贷', '移民', '成人用品', '政治', '暴力', '股票', '炒股', '荐股', '期货', '外汇', '出国',
  '医疗器械', '珠宝', '保健品', '茶叶', 'KTV', '养生', '足浴', 'SPA', '皮草', 'A货', '高仿', '奢侈品', '奢饰品', '理财', '兼职',
  '招聘', '以旧换新', '装修', '资质代办', '会议邀约', '手机流量', '话费充值', '区块链', '虚拟货币', '比特币'
]) as w;

insert into compliance_rule_words (set_id, word)
select 'contact_diversion', w from unnest(array[
  '加QQ', '加扣扣', 'QQ号', 'QQ群', '加Q', '加微信', '加微', '添加微信', '微信号', '加我微信', '加V', 'V信', '薇信', 'VX',
  '加好友', '加群'
]) as w;

insert into compliance_rule_words (set_id, word)
select 'themeless_templates', w from unnest(array[
  '您好', '你好', '亲爱的', '尊敬的', '用户', '客户', '会员', '顾客', '朋友', '先生', '女士', '通知', '提醒', '消息', '内容',
  'hello', 'hi', 'dear', 'customer', 'user'
]) as w;

insert into compliance_rule_words (set_id, word)
select 'absolute_claims', w from unnest(array[
  '最高级', '最佳', '唯一', '国家级', '世界级', '全网第一', '全国第一', '世界第一', '行业第一', '销量第一', '排名第一', 'NO.1', 'TOP1',
  '史上最', '全网最', '最低价', '最便宜', '最先进', '最好', '最强', '顶级', '极品', '独一无二', '绝无仅有', '万能', '100%有效', '绝对',
  '首选'
]) as w;

insert into compliance_rule_words (set_id, word)
select 'absolute_claims_review', w from unnest(array[
  '第一', '首家', '独家', '领先', '之王', '冠军'
]) as w;

insert into compliance_rule_words (set_id, word)
select 'opt_out_text', w from unnest(array[
  '回T退订', '回TD退订', '回N退订', '回R退订', '退订回T', '退订回TD', '退订回N', '退订回R', '回复T退订', '回复TD退订', '回复N退订',
  '回复R退订', '退订请回复T', '退订请回复TD', '拒收请回复R', '拒收回R', '回复R拒收', 'reply STOP', 'text STOP', 'reply TD'
]) as w;
