import { Document, visit } from 'yaml';
import { hasControl } from '../printable.js';

/**
 * YAML (rmm get -o yaml, rmm export, inventory) whose values survive the escaping of what rmm prints
 * (printable.ts): a string holding a character it escapes is written double-quoted, where that
 * `\uXXXX` escape is YAML's own, so what is read back is the value. yaml would otherwise write a bidi
 * override in a plain scalar, where the escape would be read as text.
 */
export function yamlText(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && hasControl(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0 });
}
