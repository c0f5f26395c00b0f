/**
 * Releases before issue 16 had no triggers; ManagedResources' name its columns, so SQLite refuses to
 * drop one of them (as the tests that recreate an older release do) until the triggers are gone.
 */
export const DROP_MANAGED_TRIGGERS = ['insert', 'update', 'delete']
  .map((event) => `DROP TRIGGER rmm_edit_managed_resources_${event};`)
  .join(' ');
