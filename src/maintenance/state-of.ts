import type { ResourceView } from '../engine/resource-view.js';
import type { MaintenanceWindow } from '../resources/kinds.js';
import type { MaintenanceState } from './fleet-windows.js';
import { maintenanceProblems } from './window-rules.js';

/**
 * The maintenance state from resource views (stored rows, or the state a plan leads to). Validation
 * checked what apply wrote; a row edited by hand may hold anything, so a window that breaks the rules
 * is left out with a problem line. Devices are decoded only when some window can reach them: with no
 * site or group window, only those whose row mentions maintenance (100,000 devices cost nothing then).
 */
export function maintenanceStateOf(views: Iterable<ResourceView>): {
  state: MaintenanceState;
  problems: string[];
} {
  const problems: string[] = [];
  const sites = new Map<string, { timezone: string | null; maintenance: MaintenanceWindow[] }>();
  const groups = new Map<string, { parent: string | null; maintenance: MaintenanceWindow[] }>();
  const devices = new Map<string, { site: string; groups: string[]; maintenance: MaintenanceWindow[] }>();
  const deviceViews: ResourceView[] = [];
  let wide = false;
  for (const view of views) {
    if (view.kind === 'Device') deviceViews.push(view);
    if (view.kind !== 'Site' && view.kind !== 'DeviceGroup') continue;
    const { fields } = view;
    const maintenance = windowsIn(fields.maintenance, `${view.kind}/${view.name}`, problems);
    wide ||= maintenance.length > 0;
    if (view.kind === 'Site') sites.set(view.name, { timezone: text(fields.timezone), maintenance });
    else groups.set(view.name, { parent: text(fields.parent), maintenance });
  }
  for (const view of deviceViews) {
    if (!wide && view.image !== undefined && !view.image.includes('maintenance')) continue;
    const { fields } = view;
    const maintenance = windowsIn(fields.maintenance, `Device/${view.name}`, problems);
    const memberOf = Array.isArray(fields.groups) ? fields.groups.filter((g) => typeof g === 'string') : [];
    devices.set(view.name, { site: text(fields.site) ?? '', groups: memberOf, maintenance });
  }
  return { state: { sites, groups, devices }, problems };
}

function windowsIn(value: unknown, holder: string, problems: string[]): MaintenanceWindow[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push(`${holder}: maintenance is not a list; none apply`);
    return [];
  }
  const kept: MaintenanceWindow[] = [];
  for (const [i, entry] of value.entries()) {
    const window = entry as MaintenanceWindow;
    const readable =
      typeof entry === 'object' && entry !== null && typeof window.name === 'string' && fieldsAreText(window);
    const problem = readable ? maintenanceProblems([window])[0]?.message : 'not a window';
    if (problem !== undefined) problems.push(`${holder}: maintenance window ${i + 1}: ${problem}; left out`);
    else kept.push(window);
  }
  return kept;
}

function fieldsAreText(window: MaintenanceWindow): boolean {
  return (['cron', 'duration', 'start', 'end'] as const).every(
    (f) => window[f] === undefined || typeof window[f] === 'string',
  );
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
