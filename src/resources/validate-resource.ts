import { maintenanceProblems } from '../maintenance/window-rules.js';
import { monitorProblems } from '../monitoring/monitor-rules.js';
import { describeValue } from '../quote.js';
import { suggest } from '../suggest.js';
import { type DocumentProblem, problemsFromAjv } from './ajv-messages.js';
import { API_VERSION, isKind, KINDS, type Kind, type Resource } from './kinds.js';
import { channelProblems, routeProblems } from './notification-rules.js';
import { relayRules, siteViaProblems } from './relay-rules.js';
import { kindValidators } from './schemas.js';
import { transportProblems } from './transport-options.js';

export interface ResourceCheck {
  /** Known as soon as the document names them, even when it is invalid. */
  kind?: string;
  name?: string;
  /** Set when the document passes its kind's schema (`problems` may still hold rules within it). */
  resource?: Resource;
  problems: DocumentProblem[];
}

/** Checks one parsed document against the envelope and its kind's JSON Schema. */
export function validateResource(value: unknown): ResourceCheck {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      problems: [
        {
          code: 'schema',
          path: [],
          at: 'value',
          message: `a resource must be a mapping with apiVersion, kind, metadata and spec, not ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}`,
        },
      ],
    };
  }
  const doc = value as Record<string, unknown>;
  const name = nameOf(doc);
  const kind = doc.kind;
  if (!isKind(kind)) {
    const problems: DocumentProblem[] = [];
    if (doc.apiVersion !== API_VERSION) problems.push(apiVersionProblem(doc.apiVersion));
    problems.push(kindProblem(kind));
    return { kind: typeof kind === 'string' ? kind : undefined, name, problems };
  }
  const validate = kindValidators()[kind];
  if (!validate(doc)) return { kind, name, problems: problemsFromAjv(validate.errors ?? []) };
  // Schema-valid: the resource is returned even if a rule within it fails, so that the documents
  // referring to it are not also reported.
  const resource = doc as unknown as Resource;
  return { kind, name, resource, problems: [...rulesWithin(resource), ...transportProblems(resource)] };
}

/** Rules inside one document that JSON Schema cannot state. */
function rulesWithin(resource: Resource): DocumentProblem[] {
  if (resource.kind === 'Policy') return monitorProblems(resource.spec);
  if (resource.kind === 'NotificationChannel') return channelProblems(resource.spec);
  if (resource.kind === 'AlertRoute') return routeProblems(resource.spec);
  if (resource.kind === 'Relay') return relayRules(resource.spec);
  const maintenance = maintenanceProblems(resource.spec.maintenance);
  return resource.kind === 'Site' ? [...maintenance, ...siteViaProblems(resource.spec)] : maintenance;
}

function nameOf(doc: Record<string, unknown>): string | undefined {
  const metadata = doc.metadata as Record<string, unknown> | undefined;
  const name = metadata && typeof metadata === 'object' ? metadata.name : undefined;
  return typeof name === 'string' ? name : undefined;
}

function apiVersionProblem(got: unknown): DocumentProblem {
  return got === undefined
    ? {
        code: 'schema',
        path: [],
        at: 'value',
        message: `missing required field "apiVersion" (use ${API_VERSION})`,
      }
    : {
        code: 'schema',
        path: ['apiVersion'],
        at: 'value',
        message: `must be "${API_VERSION}" (got ${describeValue(got)})`,
      };
}

function kindProblem(kind: unknown): DocumentProblem {
  const expected = KINDS.join(', ');
  if (kind === undefined) {
    return {
      code: 'schema',
      path: [],
      at: 'value',
      message: `missing required field "kind" (one of ${expected})`,
    };
  }
  const hint = typeof kind === 'string' ? suggest(kind, KINDS) : undefined;
  return {
    code: 'schema',
    path: ['kind'],
    at: 'value',
    message: `unknown kind ${describeValue(kind)}; ${hint ? `did you mean "${hint}"? ` : ''}expected one of ${expected}`,
  };
}

export type { Kind };
