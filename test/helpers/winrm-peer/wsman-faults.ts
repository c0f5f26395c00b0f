/**
 * The SOAP faults the peer answers, shaped like the ones Windows sends (HTTP 500, s:Fault with a
 * WS-Management subcode and an f:WSManFault detail carrying the Win32/WinRM error code). Codes,
 * subcodes and sentences come from Windows traffic recorded in pywinrm's and pypsrp's test fixtures
 * where there is some (timeout, unknown shell, unknown command), from txwinrm's fixtures for the
 * shell quota, otherwise from wsmerror.h's codes and texts.
 */
export class WsmanFault extends Error {
  constructor(
    readonly code: 's:Sender' | 's:Receiver',
    readonly subcode: string,
    readonly reason: string,
    readonly wsmanCode: number,
    readonly detailMessage: string,
    readonly faultDetail?: string,
  ) {
    super(detailMessage);
  }
}

/** 0x80338029 ERROR_WSMAN_OPERATION_TIMEDOUT: a Receive that saw no output within OperationTimeout. */
export function operationTimedOut(): WsmanFault {
  const sentence =
    'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ';
  return new WsmanFault('s:Receiver', 'w:TimedOut', sentence, 2150858793, sentence);
}

const INVALID_SELECTORS =
  'The WS-Management service cannot process the request because the request contained invalid selectors for the resource. ';
const UNEXPECTED_SELECTORS = 'http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors';

/** 0x8033805B ERROR_WINRS_SHELL_NOT_FOUND, as pypsrp recorded it from Windows. */
export function shellNotFound(shellId: string): WsmanFault {
  return new WsmanFault(
    's:Sender',
    'w:InvalidSelectors',
    INVALID_SELECTORS,
    2150858843,
    `The request for the Windows Remote Shell with ShellId ${shellId} failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation. `,
    UNEXPECTED_SELECTORS,
  );
}

/** Windows answers an unknown CommandId with the same code as an unknown shell (pypsrp test_winrs_bad_cmd_id). */
export function commandNotFound(): WsmanFault {
  return new WsmanFault(
    's:Sender',
    'w:InvalidSelectors',
    INVALID_SELECTORS,
    2150858843,
    'The Windows Remote Shell received a request to perform an operation on a command identifier that does not exist. Either the command has completed execution or the client specified an invalid command identifier. ',
    UNEXPECTED_SELECTORS,
  );
}

/** 0x8033805A ERROR_WSMAN_INSUFFCIENT_SELECTORS: a shell operation without the ShellId selector. */
export function shellIdMissing(): WsmanFault {
  return new WsmanFault(
    's:Sender',
    'w:InvalidSelectors',
    INVALID_SELECTORS,
    2150858842,
    'The Windows Remote Shell cannot process the request because it requires the following selector: ShellId. ',
  );
}

/** 0x803381A5 ERROR_WSMAN_QUOTA_MAX_SHELLS (WinRM's MaxShellsPerUser). */
export function tooManyShells(limit: number): WsmanFault {
  return new WsmanFault(
    's:Sender',
    'w:QuotaLimit',
    'The WS-Management service cannot process the request. The maximum number of concurrent shells for this user has been exceeded. Close existing shells or raise the quota for this user. ',
    2150859173,
    `The WS-Management service cannot process the request. This user is allowed a maximum number of ${limit} concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user. `,
  );
}

/** 0x80338043 ERROR_WSMAN_INVALID_XML: the body is not well-formed XML (or not a SOAP envelope). */
export function invalidXml(why: string): WsmanFault {
  const sentence = 'The WS-Management service cannot process the request because the XML is invalid. ';
  return new WsmanFault('s:Sender', 'w:SchemaValidationError', sentence, 2150858819, `${sentence}${why}`);
}

/** 0x80338041 ERROR_WSMAN_SCHEMA_VALIDATION_ERROR: well-formed, but a required part is missing or wrong. */
export function schemaValidation(why: string): WsmanFault {
  const sentence =
    'The SOAP XML in the message does not match the corresponding XML schema definition. Change the XML and retry. ';
  return new WsmanFault('s:Sender', 'w:SchemaValidationError', sentence, 2150858817, `${sentence}${why}`);
}

/** 0x80338001 ERROR_WSMAN_INVALID_ACTIONURI. */
export function actionNotSupported(action: string): WsmanFault {
  const sentence =
    'The WS-Management service cannot process the request. The WS-Addressing action URI is invalid. Check the documentation for information on how to construct an action URI. ';
  return new WsmanFault('s:Sender', 'a:ActionNotSupported', sentence, 2150858753, `${sentence}(${action})`);
}

/** 0x80338000 ERROR_WSMAN_RESOURCE_NOT_FOUND: the peer serves only the cmd shell. */
export function resourceNotFound(resourceUri: string): WsmanFault {
  const sentence =
    'The WS-Management service cannot process the request. The service cannot find the resource identified by the resource URI and selectors. ';
  return new WsmanFault(
    's:Sender',
    'w:DestinationUnreachable',
    sentence,
    2150858752,
    `${sentence}(${resourceUri})`,
  );
}

/** Win32 ERROR_DIRECTORY (267), which Windows reports when the shell's WorkingDirectory does not exist. */
export function invalidDirectory(directory: string): WsmanFault {
  const sentence = 'The directory name is invalid. ';
  return new WsmanFault('s:Receiver', 'w:InternalError', sentence, 267, `${sentence}(${directory})`);
}

/** 0x80338003 ERROR_WSMAN_PROVIDER_FAILURE: a bug in the peer, reported to the client instead of hidden. */
export function internalError(why: string): WsmanFault {
  const sentence = 'An error was encountered inside the plugin. ';
  return new WsmanFault('s:Receiver', 'w:InternalError', sentence, 2150858755, `${sentence}${why}`);
}
