// The errors the record-set code raises, carrying Kafka's numeric error codes so the produce path
// can put them straight into a partition response. Kept apart from records.ts so compression.ts
// can raise them without an import cycle.

export const CORRUPT_MESSAGE = 2;
export const MESSAGE_TOO_LARGE = 10;
export const INVALID_TIMESTAMP = 32;
export const UNSUPPORTED_FOR_MESSAGE_FORMAT = 43;
export const UNSUPPORTED_COMPRESSION_TYPE = 76;
export const INVALID_RECORD = 87;

export class RecordError extends Error {
  override name = 'RecordError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export function corrupt(message: string): RecordError {
  return new RecordError(CORRUPT_MESSAGE, message);
}
