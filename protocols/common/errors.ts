/**
 * One error hierarchy for all of Plexus. Every failure is a class extending
 * {@link PlexusError}; `recoverable` says whether retrying the same operation
 * (after a reconnect, a backoff...) can succeed. Peers that send bad input get a
 * typed error and lose their own connection; the process never dies of it.
 */
export class PlexusError extends Error {
  override readonly name: string = 'PlexusError';
  readonly recoverable: boolean;

  constructor(message: string, options: { cause?: unknown; recoverable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.recoverable = options.recoverable ?? false;
  }
}

/** Bytes or text from a peer that do not follow the protocol. Carries the byte offset. */
export class DecodeError extends PlexusError {
  override readonly name = 'DecodeError';
  constructor(
    message: string,
    readonly offset: number,
    options: { cause?: unknown } = {},
  ) {
    super(`${message} (at byte ${offset})`, { ...options, recoverable: false });
  }
}

/** A value the caller asked to encode cannot be represented on the wire. */
export class EncodeError extends PlexusError {
  override readonly name = 'EncodeError';
}

/** A request got no answer in time; the connection may still be fine. */
export class TimeoutError extends PlexusError {
  override readonly name = 'TimeoutError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, recoverable: true });
  }
}

/** The transport went away (closed, reset, never connected). */
export class ConnectionError extends PlexusError {
  override readonly name: string = 'ConnectionError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, recoverable: true });
  }
}

/** The peer closed the connection itself (not reset, not closed by us for a reason of ours). */
export class PeerClosedError extends ConnectionError {
  override readonly name = 'PeerClosedError';
  constructor() {
    super('peer closed the connection');
  }
}
