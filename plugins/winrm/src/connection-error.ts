/** Why a request failed, for the transport to turn into its typed errors. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  constructor(
    readonly kind: 'connect' | 'tls' | 'auth' | 'dropped' | 'timeout' | 'http' | 'unsealed' | 'aborted',
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A socket error before any request went out: the listener could not be reached. */
export function asConnectError(error: Error): ConnectionError {
  if (error instanceof ConnectionError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return new ConnectionError('connect', `cannot connect (${code || error.message})`, undefined, {
    cause: error,
  });
}
