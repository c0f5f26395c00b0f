/** XML namespaces of the WinRS messages, bound to the prefixes Windows itself uses. */
export const NS = {
  s: 'http://www.w3.org/2003/05/soap-envelope',
  a: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  w: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  p: 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd',
  rsp: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
} as const;

const SHELL = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell';
const TRANSFER = 'http://schemas.xmlsoap.org/ws/2004/09/transfer';

/** The resource every WinRS request addresses: the cmd.exe remote shell. */
export const CMD_SHELL_RESOURCE = `${SHELL}/cmd`;

export const ACTION = {
  create: `${TRANSFER}/Create`,
  delete: `${TRANSFER}/Delete`,
  command: `${SHELL}/Command`,
  receive: `${SHELL}/Receive`,
  send: `${SHELL}/Send`,
  signal: `${SHELL}/Signal`,
} as const;

export const SIGNAL = {
  terminate: `${SHELL}/signal/terminate`,
  ctrl_c: `${SHELL}/signal/ctrl_c`,
} as const;

/** The reply address meaning "answer on this HTTP connection". */
export const ANONYMOUS_REPLY_TO = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous';

export const COMMAND_STATE_DONE = `${SHELL}/CommandState/Done`;
