import { createError } from '../../../shared/errors.ts';

export const signatureNotFound = createError({
  code: 'signatures.not_found',
  statusCode: 404,
  message: 'No such signature for this tenant.',
});
export const invalidSignatureName = createError({
  code: 'signatures.invalid_name',
  statusCode: 400,
  message: 'A signature holds letters and digits only: no brackets, spaces or symbols.',
});
export const signatureNameLength = createError({
  code: 'signatures.name_length',
  statusCode: 400,
  message: 'A signature name is outside the length the operator allows.',
});
export const signatureDocumentType = createError({
  code: 'signatures.document_type',
  statusCode: 415,
  message: 'A proof document must be a PDF, JPEG or PNG file (checked by its content).',
});
export const signatureDocumentNotFound = createError({
  code: 'signatures.document_not_found',
  statusCode: 404,
  message: 'No such document of this signature.',
});
export const signatureDocumentsFull = createError({
  code: 'signatures.too_many_documents',
  statusCode: 409,
  message: 'A signature holds at most 10 proof documents.',
});
export const signatureExists = createError({
  code: 'signatures.name_taken',
  statusCode: 409,
  message: 'This tenant already has a signature of that name.',
});
export const signatureNotEditable = createError({
  code: 'signatures.not_editable',
  statusCode: 409,
  message:
    'Only a rejected signature can be edited and resubmitted; proof documents are added and deleted while it is pending or rejected.',
});
export const signatureNotPending = createError({
  code: 'signatures.not_pending',
  statusCode: 409,
  message: 'Only a pending signature can be approved or rejected.',
});
export const signatureNotApprovedForDefault = createError({
  code: 'signatures.not_approved',
  statusCode: 409,
  message: 'Only an approved signature can be the default.',
});
export const signatureExtensionsExhausted = createError({
  code: 'signatures.extensions_exhausted',
  statusCode: 409,
  message: 'This tenant has used every extension code (9,999 signatures).',
});

// Refusals of a send (per message, or per recipient of a batch).
export const signatureNotApproved = createError({
  code: 'compliance.signature_not_approved',
  statusCode: 422,
  message: 'The signature is not one of the approved signatures of this tenant.',
});
export const signatureRequired = createError({
  code: 'compliance.signature_required',
  statusCode: 422,
  message: 'Name an approved signature (sign_name or a leading 【name】); this tenant has no default one.',
});
export const doubleSignature = createError({
  code: 'compliance.double_signature',
  statusCode: 422,
  message: 'A message carries one signature: handsets drop messages with two 【…】.',
});
