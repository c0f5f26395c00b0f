import { errorCount } from '../diagnostics/diagnostic.js';
import { formatDiagnostic } from '../diagnostics/render.js';
import { RmmError } from '../errors.js';
import { checkInputs, planCheckedInputs } from '../reconcile/inputs.js';
import type { PlannedAgainst } from '../reconcile/plan.js';
import type { TransportSchemas } from '../resources/transport-options.js';
import type { ResourceDatabase } from '../state/resource-database.js';
import type { ManifestUpdate } from '../state/source-manifests.js';
import type { ValidationResult } from '../validate.js';
import { renderValidation } from '../views/diagnostics.js';
import { writeStderr } from '../views/output.js';

/**
 * `rmm plan` and `rmm apply -f`: validates the input (showing its problems as `rmm validate` does),
 * then plans it against the database (reconcile/inputs.ts). Close db when done.
 */
export async function planInputs(
  inputs: readonly string[],
  options: {
    recursive: boolean;
    dataDir: string;
    prune: boolean;
    readonly: boolean;
    /** --apply-set, else $RMM_APPLY_SET, else the default set. */
    applySet?: string;
    takeOver?: boolean;
    transportSchemas?: TransportSchemas;
    /** Leave unread the files as last applied (default true). */
    incremental?: boolean;
    /** apply -f: keep each file's content key, for the manifests it writes. */
    recordKeys?: boolean;
  },
  verb: string,
): Promise<ResourceDatabase & { planned: PlannedAgainst; manifests?: ManifestUpdate }> {
  const checked = await checkInputs(inputs, options);
  requireValid(checked.validation, verb);
  return planCheckedInputs(checked, options, verb);
}

/** Every problem in the error; warnings do not stop plan or apply, but are shown (on stderr: stdout holds the plan). */
function requireValid(validation: ValidationResult, verb: string): void {
  if (errorCount(validation.diagnostics) > 0) {
    throw new RmmError('invalid-input', `the declared resources are invalid; nothing was ${verb}`, {
      details: renderValidation(validation, false).split('\n'),
    });
  }
  for (const warning of validation.diagnostics) writeStderr(formatDiagnostic(warning));
}
