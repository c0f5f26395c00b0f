import { Ajv } from 'ajv';
import type { QueuedReport } from 'rmm/plugin';

/** Results over this are never downloaded (the listing's size is checked first). */
export const MAX_RESULT_BYTES = 1024 * 1024;
/** What a consumer keeps of stdout and of stderr, each; the rest is counted in *Dropped. */
export const OUTPUT_CAP_BYTES = 256 * 1024;
/** The only names a result may have: the ActionId and `.json`, nothing that can point elsewhere. */
export const RESULT_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/;

const base64Within = (bytes: number) => ({
  type: 'string',
  maxLength: Math.ceil(bytes / 3) * 4,
  pattern: '^[A-Za-z0-9+/]*={0,2}$',
});
const count = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };

/** What both consumers write: docs/smb.md and test/fixtures/smb/ hold examples. */
const resultSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'actionId', 'status', 'at', 'durationMs'],
  properties: {
    v: { const: 1 },
    actionId: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' },
    status: { enum: ['Succeeded', 'Failed', 'TimedOut', 'Expired'] },
    exitCode: { type: 'integer', minimum: -2147483648, maximum: 4294967295 },
    error: { type: 'string', maxLength: 1000 },
    stdoutBase64: base64Within(OUTPUT_CAP_BYTES),
    stderrBase64: base64Within(OUTPUT_CAP_BYTES),
    stdoutDropped: count,
    stderrDropped: count,
    at: { type: 'string', pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,7})?Z$' },
    durationMs: count,
  },
} as const;

const validate = new Ajv({ allErrors: false, strict: true }).compile(resultSchema);

interface ResultFile {
  v: 1;
  actionId: string;
  status: 'Succeeded' | 'Failed' | 'TimedOut' | 'Expired';
  exitCode?: number;
  error?: string;
  stdoutBase64?: string;
  stderrBase64?: string;
  stdoutDropped?: number;
  stderrDropped?: number;
  at: string;
  durationMs: number;
}

/**
 * Reads a result file written by a consumer: untrusted (anyone who can write to the share can
 * write one). Never throws: anything off becomes an `invalid` report saying what, without the
 * content. `name` is the file's name on the share; it must be the ActionId inside.
 */
export function parseResultFile(name: string, bytes: Buffer, now: Date): QueuedReport {
  const invalid = (problem: string): QueuedReport => ({ kind: 'invalid', at: now.toISOString(), problem });
  if (!RESULT_NAME.test(name)) return invalid(`result file ${printable(name)}: not named <ActionId>.json`);
  if (bytes.length > MAX_RESULT_BYTES) return invalid(`result file ${name}: over ${MAX_RESULT_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return invalid(`result file ${name}: not UTF-8 JSON`);
  }
  if (!validate(value)) {
    const first = validate.errors?.[0];
    return invalid(
      `result file ${name}: ${first?.instancePath || '/'} ${first?.message ?? 'is not a result'}`,
    );
  }
  const result = value as ResultFile;
  if (`${result.actionId}.json` !== name)
    return invalid(`result file ${name}: names another ActionId inside`);
  return {
    kind: 'finished',
    actionId: result.actionId,
    at: result.at,
    status: result.status,
    ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }),
    ...(result.stdoutBase64 === undefined ? {} : { stdout: text(result.stdoutBase64) }),
    ...(result.stderrBase64 === undefined ? {} : { stderr: text(result.stderrBase64) }),
    ...(result.stdoutDropped === undefined ? {} : { stdoutDropped: result.stdoutDropped }),
    ...(result.stderrDropped === undefined ? {} : { stderrDropped: result.stderrDropped }),
    ...(result.error === undefined ? {} : { error: result.error }),
    durationMs: result.durationMs,
  };
}

/** Output is UTF-8 text for the core; bytes that are not become U+FFFD. */
function text(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}

/** A hostile name shown safely in a message: escaped, and cut short. */
export function printable(name: string): string {
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 77)}...` : name);
  return shown;
}
