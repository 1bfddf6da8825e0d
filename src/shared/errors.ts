// One factory for every module's errors: a stable dotted code, an HTTP status and a default
// message. Every code made here is registered, so a test can check that docs/errors.md lists
// exactly the codes that exist (Fastify's errors test does the same).

export class AppError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly details: unknown;
  constructor({
    code,
    message,
    statusCode,
    details,
    cause,
  }: {
    code: string;
    message: string;
    statusCode: number;
    details?: unknown;
    cause?: unknown;
  }) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'AppError';
    this.code = code;
    this.statusCode = statusCode;
    this.details = details;
  }
}

export interface ErrorDefinition {
  code: string;
  statusCode: number;
  message: string;
}

const registry = new Map<string, ErrorDefinition>();

export type ErrorFactory = ((options?: {
  message?: string;
  details?: unknown;
  cause?: unknown;
}) => AppError) & {
  code: string;
  statusCode: number;
};

export function createError(definition: ErrorDefinition): ErrorFactory {
  registry.set(definition.code, definition);
  const factory = ((options = {}) =>
    new AppError({
      code: definition.code,
      statusCode: definition.statusCode,
      message: options.message ?? definition.message,
      details: options.details,
      cause: options.cause,
    })) as ErrorFactory;
  factory.code = definition.code;
  factory.statusCode = definition.statusCode;
  return factory;
}

export function registeredErrors(): ErrorDefinition[] {
  return [...registry.values()].sort((a, b) => a.code.localeCompare(b.code));
}
