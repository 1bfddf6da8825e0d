// Multipart bodies cut short: busboy (through @fastify/multipart) fails the parts iterator, or the
// file part's stream, with a plain Error that has no code or status, which the error handler would
// answer as a 500. Routes that read parts turn it into their own 400.

/** The error busboy raises for a multipart body that ends before its closing boundary. */
export function isTruncatedMultipart(error: unknown): boolean {
  return error instanceof Error && /unexpected end of multipart data/i.test(error.message);
}

export const TRUNCATED_MULTIPART_MESSAGE =
  'the multipart body ended before its closing boundary; send the whole form again';
