/** NTLM (NTLMv2 with session security) for WinRM over HTTP: both the client and a test server. */
export { NtlmClient, type NtlmCredentials, type NtlmTesting } from './client.js';
export { formatAuthHeader, NtlmError, parseAuthHeader } from './messages.js';
export { NtlmServer, type NtlmServerOptions } from './server.js';
export type { NtlmSession } from './session.js';
