import type { ClientChannel } from 'ssh2';

/** Signal numbers that are the same on Linux, the BSDs and macOS; others report 255. */
const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** The exit code a shell would report for a channel's exit: its status, or 128 + the signal's number. */
export function exitCodeOf(code: number | null, signal: string | undefined): number {
  if (code !== null) return code <= 255 ? code : 255;
  const number = SIGNAL_NUMBERS[signal ?? ''];
  return number === undefined ? 255 : 128 + number;
}

/**
 * ssh2's channel.signal() does nothing once stdin is ended (it requires the stream to be writable),
 * though SSH allows a signal request after EOF, and every exec ends stdin at once. So the request
 * goes through the protocol object ssh2 1.17 keeps on the channel; the public method is the fallback
 * should those internals move.
 */
export function sendSignal(channel: ClientChannel, name: string): void {
  const internal = channel as unknown as {
    outgoing?: { id?: number; state?: string };
    _client?: { _protocol?: { signal?: (id: number, name: string) => void } };
  };
  const { outgoing } = internal;
  const protocol = internal._client?._protocol;
  if (outgoing?.id === undefined || typeof protocol?.signal !== 'function') {
    channel.signal(name);
    return;
  }
  if (outgoing.state === 'open' || outgoing.state === 'eof') protocol.signal(outgoing.id, name);
}
