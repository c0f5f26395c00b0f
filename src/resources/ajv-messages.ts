import type { DiagnosticCode, PathSegment } from '../diagnostics/diagnostic.js';
import { describeValue, quote } from '../quote.js';
import { suggest } from '../suggest.js';
import type { ErrorObject } from './ajv.js';

/** A schema problem inside one document, before it has a file position. */
export interface DocumentProblem {
  code: DiagnosticCode;
  path: PathSegment[];
  /** Point at the key (an unknown field) or the value. */
  at: 'key' | 'value';
  message: string;
  /** Problems are errors unless they say otherwise. */
  severity?: 'warning';
}

export function pathOf(instancePath: string): PathSegment[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** AJV's errors in words an admin reads at a glance, each pointing at the YAML node to fix. */
export function problemsFromAjv(errors: readonly ErrorObject[]): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  // An anyOf's own message (its x-message) says what every branch wanted; each branch's error repeats a part.
  const anyOfAt = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const error of errors) {
    // 'if' only says which branch failed; the branch's own error says why.
    if (error.keyword === 'if') continue;
    if (anyOfAt.has(error.instancePath) && error.schemaPath.includes('/anyOf/')) continue;
    // Inside propertyNames, AJV names the offending key: point at the key itself, not at its map.
    const propertyName = (error as ErrorObject & { propertyName?: string }).propertyName;
    const path =
      propertyName === undefined ? pathOf(error.instancePath) : [...pathOf(error.instancePath), propertyName];
    const parent = error.parentSchema as Record<string, unknown> | undefined;
    // A value that failed a secret reference's rules may be the secret itself: never echo it.
    const sensitive = parent?.['x-sensitive'] === true && propertyName === undefined;
    const subject =
      propertyName !== undefined
        ? `key ${quote(propertyName)}`
        : sensitive
          ? 'the value'
          : describeValue(error.data);
    const custom = typeof parent?.['x-message'] === 'string' ? (parent['x-message'] as string) : undefined;
    switch (error.keyword) {
      case 'additionalProperties': {
        const field = String(error.params.additionalProperty);
        const fieldPath = [...path, field];
        const known = Object.keys((parent?.properties as object | undefined) ?? {});
        const hint = suggest(field, known);
        problems.push({
          code: 'schema',
          path: fieldPath,
          at: 'key',
          message: `unknown field ${quote(field)}${hint ? `; did you mean "${hint}"?` : known.length ? `; expected one of: ${known.join(', ')}` : ''}`,
        });
        break;
      }
      case 'required':
        problems.push({
          code: 'schema',
          path,
          at: 'value',
          message: `missing required field "${String(error.params.missingProperty)}"`,
        });
        break;
      case 'type':
        problems.push({
          code: 'schema',
          path,
          at: 'value',
          message: `must be ${article(String(error.params.type))}, not ${sensitive ? 'that' : describeValue(error.data)}`,
        });
        break;
      case 'enum':
        problems.push({
          code: 'schema',
          path,
          at: 'value',
          message: `must be one of: ${(error.params.allowedValues as unknown[]).map((v) => String(v)).join(', ')} (got ${describeValue(error.data)})`,
        });
        break;
      case 'const':
        problems.push({
          code: 'schema',
          path,
          at: 'value',
          message: `must be "${String(error.params.allowedValue)}" (got ${describeValue(error.data)})`,
        });
        break;
      case 'pattern': {
        const hint =
          typeof parent?.patternErrorMessage === 'string'
            ? parent.patternErrorMessage
            : `must match ${String(error.params.pattern)}`;
        problems.push({
          code: 'schema',
          path,
          at: propertyName === undefined ? 'value' : 'key',
          message: sensitive ? hint : `${subject} ${hint}`,
        });
        break;
      }
      case 'propertyNames':
        // AJV reports the bad name through a nested 'pattern' error with propertyName set; skip the wrapper.
        break;
      case 'format':
        problems.push({
          code: 'schema',
          path,
          at: 'value',
          message: `${describeValue(error.data)} is not a valid ${formatName(String(error.params.format))}${zoneHint(error)}`,
        });
        break;
      case 'uniqueItems': {
        // AJV names the later copy i and the earlier j; point at the later one.
        const later = Math.max(Number(error.params.i), Number(error.params.j));
        const item = Array.isArray(error.data) ? error.data[later] : undefined;
        problems.push({
          code: 'schema',
          path: [...path, later],
          at: 'value',
          message: `${describeValue(item)} is listed twice`,
        });
        break;
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        problems.push({
          code: 'schema',
          path,
          at: 'value',
          message: `must be ${BOUND_WORDS[error.keyword]} ${String(error.params.limit)} (got ${String(error.data)})`,
        });
        break;
      case 'minProperties':
        problems.push({
          code: 'schema',
          path,
          at: 'value',
          message: custom ?? `must not be empty (at least ${String(error.params.limit)} field)`,
        });
        break;
      case 'not': {
        // `not: {required: [x]}` forbids a field: point at that field.
        const forbidden = (error.schema as { required?: string[] } | undefined)?.required;
        const fieldPath = forbidden?.length === 1 ? [...path, forbidden[0] as string] : path;
        problems.push({
          code: 'schema',
          path: fieldPath,
          at: 'key',
          message: custom ?? 'is not allowed here',
        });
        break;
      }
      default:
        problems.push({
          code: 'schema',
          path,
          at: 'value',
          message: custom ?? error.message ?? error.keyword,
        });
    }
  }
  return problems;
}

const BOUND_WORDS: Record<string, string> = {
  minimum: 'at least',
  maximum: 'at most',
  exclusiveMinimum: 'more than',
  exclusiveMaximum: 'less than',
};

function article(type: string): string {
  return type
    .split(',')
    .map(
      (t) =>
        ({
          object: 'a mapping',
          array: 'a list',
          integer: 'an integer',
          string: 'a string',
          number: 'a number',
          boolean: 'true or false',
        })[t] ?? t,
    )
    .join(' or ');
}

function formatName(format: string): string {
  return (
    {
      email: 'email address',
      hostname: 'DNS name',
      'iana-timezone': 'IANA time zone (such as America/Chicago or UTC)',
      'host-address': 'IP address or DNS name',
    }[format] ?? format
  );
}

/** A did-you-mean for a misspelt time zone (maintenance windows run in the site's zone). */
function zoneHint(error: ErrorObject): string {
  if (error.params.format !== 'iana-timezone' || typeof error.data !== 'string') return '';
  const hint = suggest(error.data, Intl.supportedValuesOf('timeZone'));
  return hint ? `; did you mean "${hint}"?` : '';
}
