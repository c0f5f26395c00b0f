/**
 * The WS-Management messages of the WinRS remote shell (MS-WSMV), client side: the request
 * envelopes of a shell's life (Create, Command, Send, Receive, Signal, Delete) and the parsing of
 * their responses and faults. Pure functions; the connection that carries them lives elsewhere.
 */
export type { EnvelopeContext } from './wsman/envelope.js';
export { OPERATION_TIMEOUT_FAULT, parseFault, type WsmanFault } from './wsman/fault.js';
export {
  type CommandOptions,
  type CreateShellOptions,
  commandEnvelope,
  createShellEnvelope,
  deleteShellEnvelope,
  maxSendChunk,
  receiveEnvelope,
  sendEnvelope,
  signalEnvelope,
} from './wsman/requests.js';
export { parseCommandId, parseReceive, parseShellId, type ReceiveResult } from './wsman/responses.js';
export { WsmanParseError } from './wsman/xml-read.js';
