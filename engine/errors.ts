// Typed errors: the library throws these; the CLI prints `message` as one line and exits non-zero.

export class LoupeError extends Error {
  override name = 'LoupeError';
}
/** A model file that cannot be parsed or does not hold together (truncated, corrupt, weights that do not fit). */
export class ModelFormatError extends LoupeError {
  override name = 'ModelFormatError';
}
/** A well-formed model that uses an operator or attribute Loupe does not implement. */
export class UnsupportedOpError extends LoupeError {
  override name = 'UnsupportedOpError';
}
/** A tensor whose shape does not fit where it is used (wrong input size, mismatched weights). */
export class ShapeError extends LoupeError {
  override name = 'ShapeError';
}
/** An image or array file that cannot be decoded. */
export class InputFormatError extends LoupeError {
  override name = 'InputFormatError';
}
/** A user-given name or index that does not exist (layer, class, unit). */
export class ArgumentError extends LoupeError {
  override name = 'ArgumentError';
}
/** Something went wrong on the GPU (device lost, validation error). */
export class GpuError extends LoupeError {
  override name = 'GpuError';
}
/**
 * A NaN or ±Infinity where numbers must be finite: an input value, a model parameter, or a layer's
 * output (float32 overflow). The message names where it first appears.
 */
export class NonFiniteError extends LoupeError {
  override name = 'NonFiniteError';
}
/** A plan that does not fit the device's limits (one tensor larger than a storage binding), refused before any dispatch. */
export class DeviceLimitError extends GpuError {
  override name = 'DeviceLimitError';
}
/** An explanation whose every map is all zero or constant: nothing to show (the reason is in the message). */
export class EmptyExplanationError extends LoupeError {
  override name = 'EmptyExplanationError';
}
/** A long computation stopped at a check point because its AbortSignal fired (Ctrl-C, a page's Cancel button). */
export class CancelledError extends LoupeError {
  override name = 'CancelledError';
}

/** Long loops call this between batches or steps: throws CancelledError once `signal` has fired. */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new CancelledError(`${what}: cancelled`);
}
