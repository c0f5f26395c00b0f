/**
 * The transport block a device is reached with: its own `spec.transport` over its site's
 * `defaults.transport`, under one rule. A site's default is a default for one transport type, so it
 * applies only to the devices of that type:
 *
 * - a block's type is its `type`; a device block without one takes the site default's type, and a
 *   site default without one is of the built-in default type, ssh;
 * - the site's default applies to a device when both are of the same type; its fields fill in the
 *   ones the device leaves out. Otherwise nothing of it applies (an SSH site's port 22 never reaches
 *   a WinRM device).
 *
 * Pure: the action runner (actions/targets.ts), `rmm validate`/`plan` (checks of the merged block)
 * and `rmm get devices` (which shows it) all resolve devices here.
 */
export const DEFAULT_TRANSPORT = 'ssh';

export type TransportBlock = Record<string, unknown>;

/** Where an effective field's value comes from. */
export type TransportSource = 'device' | 'site' | 'built-in';

export interface EffectiveTransport {
  type: string;
  /** The merged block, `type` included. */
  block: TransportBlock;
  /** For each field of `block`, where its value comes from. */
  from: Record<string, TransportSource>;
  /** Whether the site's default applies (it exists and is of this type). */
  siteApplies: boolean;
  /** The type of a site default that exists but does not apply. */
  siteIgnored?: string;
}

export function effectiveTransport(
  device: TransportBlock | null | undefined,
  siteDefault: TransportBlock | null | undefined,
): EffectiveTransport {
  const own = device ?? {};
  const site = siteDefault && Object.keys(siteDefault).length > 0 ? siteDefault : undefined;
  const siteType = site ? typeOf(site) : undefined;
  const declared = typeof own.type === 'string' ? own.type : undefined;
  const type = declared ?? siteType ?? DEFAULT_TRANSPORT;
  const siteApplies = siteType === type;
  const block: TransportBlock = { type, ...(siteApplies ? site : {}), ...own };
  block.type = type;
  const from: Record<string, TransportSource> = {};
  for (const key of Object.keys(block))
    from[key] = key in own ? 'device' : siteApplies && site && key in site ? 'site' : 'built-in';
  const out: EffectiveTransport = { type, block, from, siteApplies };
  if (siteType !== undefined && !siteApplies) out.siteIgnored = siteType;
  return out;
}

function typeOf(block: TransportBlock): string {
  return typeof block.type === 'string' ? block.type : DEFAULT_TRANSPORT;
}
