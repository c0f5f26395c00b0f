import { describe, expect, it } from 'vitest';
import { ImageView, type ResourceView, viewOf } from '../../src/engine/resource-view.js';
import { fieldsOfImage, imageOf } from '../../src/formats/row-image.js';
import { fleetWindows } from '../../src/maintenance/fleet-windows.js';
import { maintenanceStateOf } from '../../src/maintenance/state-of.js';
import type { Resource } from '../../src/resources/kinds.js';

const at = (iso: string) => Date.parse(iso);
const view = (kind: ResourceView['kind'], name: string, fields: Record<string, unknown>): ResourceView =>
  ({ kind, name, fields }) as ResourceView;

/**
 * Sites paris (Europe/Paris) and lab (no zone: UTC); groups servers > web > web-eu; windows at each
 * level. 2026-12-05 is a Saturday; Paris is UTC+1 then.
 */
const views: ResourceView[] = [
  view('Site', 'paris', {
    timezone: 'Europe/Paris',
    maintenance: [{ name: 'site-night', cron: '0 2 * * *', duration: '1h' }],
  }),
  view('Site', 'lab', { timezone: null, maintenance: null }),
  view('DeviceGroup', 'servers', {
    parent: null,
    maintenance: [{ name: 'patch-night', cron: '0 2 * * 6', duration: '3h', pauseSchedules: true }],
  }),
  view('DeviceGroup', 'web', { parent: 'servers', maintenance: null }),
  view('DeviceGroup', 'web-eu', { parent: 'web', maintenance: null }),
  view('DeviceGroup', 'other', { parent: null, maintenance: null }),
  view('Device', 'web-eu-1', { site: 'paris', groups: ['web-eu'], maintenance: null }),
  view('Device', 'lab-1', { site: 'lab', groups: ['web-eu'], maintenance: null }),
  view('Device', 'desk-1', {
    site: 'paris',
    groups: ['other'],
    maintenance: [{ name: 'move', start: '2026-12-05T01:30', end: '2026-12-05T06:00' }],
  }),
];

describe('which window a device is in', () => {
  const { state, problems } = maintenanceStateOf(views);
  const windows = fleetWindows(state);

  it('reaches the devices of groups below the holder, in the zone of each device site', () => {
    expect(problems).toEqual([]);
    // 02:30 Paris = 01:30 UTC: the group window (and the site's) are under way for web-eu-1.
    expect(windows.windowsOf('web-eu-1', at('2026-12-05T01:30:00Z'))).toEqual([
      {
        name: 'patch-night',
        level: 'group',
        holder: 'servers',
        start: at('2026-12-05T01:00:00Z'),
        endsAt: at('2026-12-05T04:00:00Z'),
        pauseSchedules: true,
      },
      expect.objectContaining({ name: 'site-night', level: 'site', holder: 'paris' }),
    ]);
    // lab has no zone: the same group window runs 02:00-05:00 UTC there.
    expect(windows.maintenanceOf('lab-1', at('2026-12-05T01:30:00Z'))).toBeNull();
    expect(windows.maintenanceOf('lab-1', at('2026-12-05T04:30:00Z'))).toBe('patch-night');
  });

  it('names the window ending last, and holds schedules only for a window that pauses them', () => {
    // desk-1: its own one-off window (01:30-06:00 Paris) and the site's (02:00-03:00 Paris).
    const when = at('2026-12-05T01:15:00Z');
    expect(windows.windowsOf('desk-1', when).map((w) => `${w.level}:${w.name}`)).toEqual([
      'device:move',
      'site:site-night',
    ]);
    expect(windows.maintenanceOf('desk-1', when)).toBe('move');
    expect(windows.schedulesHeldBy('desk-1', when)).toBeNull();
    expect(windows.schedulesHeldBy('web-eu-1', at('2026-12-05T01:30:00Z'))?.endsAt).toBe(
      at('2026-12-05T04:00:00Z'),
    );
    expect(windows.maintenanceOf('nobody', when)).toBeNull();
  });

  it('leaves out, with a problem each, windows of rows edited by hand past validation', () => {
    const read = maintenanceStateOf([
      view('Site', 'x', { timezone: 'Mars/Olympus', maintenance: 'always' }),
      view('DeviceGroup', 'g', {
        parent: 'g',
        maintenance: [
          { name: 'bad', cron: '99 * * * *', duration: '1h' },
          7,
          { name: 'patch', cron: '0 2 * * *', duration: '1h' },
          { name: 'patch', cron: '0 3 * * *', duration: '1h' },
        ],
      }),
      view('Device', 'd', { site: 'x', groups: ['g'], maintenance: null }),
    ]);
    expect(read.problems).toEqual([
      'Site/x: maintenance is not a list; none apply',
      'DeviceGroup/g: maintenance window 1: cron rule "99 * * * *": Invalid value for minute: 99; left out',
      'DeviceGroup/g: maintenance window 2: not a window; left out',
      'DeviceGroup/g: maintenance window 4: a second window named "patch"; left out',
    ]);
    // An unknown zone reads as UTC; a parent cycle ends the walk.
    expect(fleetWindows(read.state).windowsOf('d', at('2026-12-05T01:30:00Z'))).toEqual([]);
  });

  it('reads stored devices from their row image, with or without a site or group window', () => {
    // As the database gives them: images, decoded only on demand.
    const stored = (resource: Resource) => {
      const v = viewOf(resource);
      return new ImageView(v.kind, v.name, imageOf(v.kind, v.fields), fieldsOfImage);
    };
    const device = (name: string, maintenance?: unknown[]) =>
      stored({
        apiVersion: 'rmm/v1',
        kind: 'Device',
        metadata: { name },
        spec: { site: 'main', groups: ['g'], ...(maintenance ? { maintenance } : {}) },
      } as Resource);
    const own = [{ name: 'swap', start: '2026-12-05T01:00', end: '2026-12-05T02:00' }];
    const narrow = maintenanceStateOf([device('a', own), device('b')]);
    // No site or group window: only the device that mentions one is read.
    expect([...narrow.state.devices.keys()]).toEqual(['a']);
    expect(fleetWindows(narrow.state).maintenanceOf('a', at('2026-12-05T01:30:00Z'))).toBe('swap');
    const group = view('DeviceGroup', 'g', {
      parent: null,
      maintenance: [{ name: 'nightly', cron: '0 1 * * *', duration: '1h' }],
    });
    const wide = maintenanceStateOf([group, device('a', own), device('b')]);
    expect(wide.state.devices.get('b')).toEqual({ site: 'main', groups: ['g'], maintenance: [] });
    expect(
      fleetWindows(wide.state)
        .windowsOf('a', at('2026-12-05T01:30:00Z'))
        .map((w) => w.name),
    ).toEqual(['swap', 'nightly']);
  });
});
