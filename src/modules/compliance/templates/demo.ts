// The demo tenant of a fresh install can send at once, as the README shows: the approved
// signature 鸿雁 (its default), free text, and an approved sample template of each type.
import type pg from 'pg';
import { grantSending } from '../signatures/signatures.usecases.ts';
import type { TemplateInput } from './templates.usecases.ts';
import { createApprovedTemplate } from './templates.usecases.ts';

export const DEMO_TEMPLATES: TemplateInput[] = [
  {
    name: '验证码',
    type: 'verification',
    content: '您的验证码是{code}，5分钟内有效，请勿泄露给他人。',
    variables: [{ name: 'code', kind: 'code' }],
  },
  {
    name: '发货通知',
    type: 'notification',
    content: '您的订单{order}已发货，快递单号{tracking}，请注意查收。',
    variables: [
      { name: 'order', kind: 'text', max_length: 20 },
      { name: 'tracking', kind: 'text', max_length: 20 },
    ],
  },
  {
    name: '会员日',
    type: 'marketing',
    content: '{name}您好，本周六会员日全场8折，欢迎到店选购。回T退订',
    variables: [{ name: 'name', kind: 'text', max_length: 10 }],
  },
  {
    name: 'International code',
    type: 'international',
    content: 'Your verification code is {code}. It expires in 5 minutes.',
    variables: [{ name: 'code', kind: 'code' }],
  },
];

export async function setUpDemoSending({ db, tenantId }: { db: Pick<pg.Pool, 'query'>; tenantId: number }) {
  await grantSending({ db, tenantId, signatures: ['鸿雁'], freeText: true, by: 'system' });
  for (const input of DEMO_TEMPLATES) await createApprovedTemplate({ db, tenantId, input, by: 'system' });
}
