import { createError } from '../../shared/errors.ts';

export const contactNotFound = createError({
  code: 'contacts.not_found',
  statusCode: 404,
  message: 'No such contact for this tenant.',
});
export const groupNotFound = createError({
  code: 'contacts.group_not_found',
  statusCode: 404,
  message: 'No such contact group for this tenant.',
});
export const segmentNotFound = createError({
  code: 'contacts.segment_not_found',
  statusCode: 404,
  message: 'No such segment for this tenant.',
});
export const importNotFound = createError({
  code: 'contacts.import_not_found',
  statusCode: 404,
  message: 'No such contact import for this tenant.',
});
export const invalidPhone = createError({
  code: 'contacts.invalid_phone',
  statusCode: 400,
  message: 'The phone number is not a valid mobile number.',
});
export const invalidContact = createError({
  code: 'contacts.invalid_contact',
  statusCode: 400,
  message: 'The contact is not valid (fields, tags or name).',
});
export const phoneTaken = createError({
  code: 'contacts.phone_taken',
  statusCode: 409,
  message: 'This tenant already has a contact with this phone number.',
});
export const nameTaken = createError({
  code: 'contacts.name_taken',
  statusCode: 409,
  message: 'This tenant already has a group or segment with this name.',
});
export const invalidSegment = createError({
  code: 'contacts.invalid_segment',
  statusCode: 400,
  message: 'The segment filter is not valid.',
});
export const bulkTooLarge = createError({
  code: 'contacts.bulk_too_large',
  statusCode: 413,
  message: 'A bulk upsert takes at most 1,000 contacts.',
});
export const invalidImport = createError({
  code: 'contacts.invalid_import',
  statusCode: 400,
  message: 'The import request is not valid (file, mapping or group).',
});
export const importFileType = createError({
  code: 'contacts.import_file_type',
  statusCode: 415,
  message: 'The import file must be CSV or XLSX.',
});
export const importTooLarge = createError({
  code: 'contacts.import_too_large',
  statusCode: 413,
  message: 'The import file is larger than HONGYAN_CONTACTS_IMPORT_MAX_BYTES.',
});
export const importEmpty = createError({
  code: 'contacts.import_empty',
  statusCode: 400,
  message: 'The import file is empty.',
});
export const duplicateInRequest = createError({
  code: 'contacts.duplicate',
  statusCode: 409,
  message: 'The same phone number appears earlier in this request or file.',
});
