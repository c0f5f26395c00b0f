import { API_VERSION, type Resource } from '../resources/kinds.js';
import type { FieldValue, ResourceView } from './resource-view.js';

/**
 * A view back to the document a user would write: unset and empty fields left out, and defaults
 * (displayName or hostname equal to the name) left implicit. viewOf(toResource(v)) equals v, which
 * is what makes `rmm export` then `rmm plan` show no changes.
 */
export function toResource(view: ResourceView): Resource {
  const metadata: Record<string, FieldValue> = { name: view.name };
  const spec: Record<string, FieldValue> = {};
  for (const [field, value] of Object.entries(view.fields)) {
    if (isEmpty(value)) continue;
    if (field === 'labels') metadata.labels = value;
    else if ((field === 'displayName' || field === 'hostname') && value === view.name) continue;
    else spec[field] = value;
  }
  return { apiVersion: API_VERSION, kind: view.kind, metadata, spec } as unknown as Resource;
}

function isEmpty(value: FieldValue): boolean {
  return (
    value === null ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)
  );
}
