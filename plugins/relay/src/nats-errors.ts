import type { Fail, TransportErrorCode } from 'rmm/plugin';

/**
 * A NATS client error as a TransportError: the code the core acts on, the context first, the
 * client's own words after, and never the password (a server may echo what it was sent).
 */
export function natsFailure(error: unknown, context: string, fail: Fail, password?: string): Error {
  const raw = error instanceof Error ? error.message : String(error);
  const said = password ? raw.split(password).join('***') : raw;
  return fail(codeOf(error, said), `${context}: ${said}`, { cause: redacted(error, password) });
}

function codeOf(error: unknown, message: string): TransportErrorCode {
  const name = error instanceof Error ? error.name : '';
  if (
    /authori[sz]ation|authentication|AuthorizationError|UserAuthenticationExpired/i.test(`${name} ${message}`)
  )
    return 'auth-failed';
  if (/permission/i.test(`${name} ${message}`)) return 'protocol';
  if (/JetStreamApiError|JetStreamError/.test(name)) return 'protocol';
  return 'unreachable';
}

/** The cause kept for debugging, unless its text holds the password. */
function redacted(error: unknown, password?: string): unknown {
  if (!password || !(error instanceof Error)) return error;
  return `${error.message}${String(error.stack)}`.includes(password) ? undefined : error;
}
