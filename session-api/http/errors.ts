// A handful of error kinds, mapped to HTTP status codes in exactly one place. Every error body has
// one shape: {"error": {"code", "message", "details"?}}.

export const ERROR_STATUS = {
  BadRequest: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  Unprocessable: 422,
  Unavailable: 503,
  Internal: 500,
} as const;

export type ErrorKind = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  path: string;
  message: string;
}

export interface ErrorBody {
  error: { code: ErrorKind; message: string; details?: ErrorDetail[] };
}

export class ApiError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details?: ErrorDetail[],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ApiError";
  }

  get status(): number {
    return ERROR_STATUS[this.kind];
  }

  body(): ErrorBody {
    return { error: { code: this.kind, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

const BODY_PARSER_ERRORS: Record<string, [ErrorKind, string]> = {
  "entity.parse.failed": ["BadRequest", "the request body is not valid JSON"],
  "entity.too.large": ["PayloadTooLarge", "the request body is too large (limit 64 KiB)"],
  "encoding.unsupported": ["UnsupportedMediaType", "the request body's encoding is not supported; send identity or gzip"],
  "charset.unsupported": ["UnsupportedMediaType", "the request body must be UTF-8 JSON"],
  "request.aborted": ["BadRequest", "the request was aborted before its body arrived"],
  "request.size.invalid": ["BadRequest", "the request body's length does not match Content-Length"],
};

/** Turns anything thrown while handling a request into an ApiError; unknown errors are Internal. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const type = (err as { type?: unknown } | null)?.type;
  if (typeof type === "string") {
    const known = BODY_PARSER_ERRORS[type];
    if (known) return new ApiError(known[0], known[1], undefined, { cause: err });
  }
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return new ApiError("BadRequest", "the request could not be read", undefined, { cause: err });
  }
  return new ApiError("Internal", "internal error; the server log has the details", undefined, { cause: err });
}
