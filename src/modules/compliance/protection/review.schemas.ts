// The marketing review as a batch's views show it (POST /v1/batches, GET /v1/batches/:id).
export const marketingReviewView = {
  type: ['object', 'null'],
  description:
    'Marketing batches wait for an operator review (pending), then are approved or rejected; expected_by says when the review can be expected, in the marketing desk’s working hours (GET /v1/operator/compliance/settings; by default reviews 9:00–23:00 Beijing time, what arrives from 20:00 is reviewed from 9:00 the next day). Null: no review.',
  properties: {
    status: { type: 'string', enum: ['pending', 'approved', 'rejected'] },
    submitted_at: { type: 'string', format: 'date-time' },
    expected_by: { type: 'string', format: 'date-time' },
    decided_at: { type: ['string', 'null'], format: 'date-time' },
    reason: { type: ['string', 'null'] },
  },
} as const;
