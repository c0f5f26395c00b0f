import { describe, expect, it } from 'vitest';
import { GENERIC_MAX_ALERTS, webhookBody } from '../../src/notify/webhook-formats.js';
import { alertOn, notification, storm } from './notifications.js';

/** The bodies of each webhook format: what the receiver shows, within its limits. */

const chars = (text: string) => Array.from(text).length;

describe('webhook formats', () => {
  it('generic: lists at most GENERIC_MAX_ALERTS alerts and counts them all', () => {
    const body = webhookBody('generic', storm(1500)) as {
      alertCount: number;
      alerts: unknown[];
      summary: string;
    };
    expect(body.alertCount).toBe(1500);
    expect(body.alerts).toHaveLength(GENERIC_MAX_ALERTS);
    expect(body.summary).toBe('[Critical] FIRING: 1500 alerts of linux-server/cpu-high at site main');
  });

  it('slack: text for the notification, blocks within 3,000 characters, mrkdwn controls escaped', () => {
    const content = notification({
      alerts: [alertOn('web-01', { title: 'cpu <!channel> & <https://x|y>' })],
    });
    const body = webhookBody('slack', content) as { text: string; blocks: { text?: { text: string } }[] };
    expect(body.text).toBe('[Critical] FIRING: cpu &lt;!channel&gt; &amp; &lt;https://x|y&gt;');
    expect(JSON.stringify(body)).not.toContain('<!channel>');
    const big = webhookBody('slack', storm(500)) as { blocks: { text?: { text: string } }[] };
    for (const block of big.blocks) if (block.text) expect(chars(block.text.text)).toBeLessThanOrEqual(3000);
    expect(big.blocks[1]?.text?.text).toMatch(/… and 471 more$/);
  });

  it('teams: one Adaptive Card 1.4 in a message, under 28 KB for a storm', () => {
    const body = webhookBody('teams', storm(500)) as {
      type: string;
      attachments: {
        contentType: string;
        content: { type: string; version: string; body: { text: string }[] };
      }[];
    };
    expect(body.type).toBe('message');
    const [card] = body.attachments;
    expect(card?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card?.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(card?.content.body[0]?.text).toBe(
      '[Critical] FIRING: 500 alerts of linux-server/cpu-high at site main',
    );
    expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThan(28 * 1024);
  });

  it("discord: one embed within Discord's limits, and no mention ever pings", () => {
    const body = webhookBody('discord', storm(500)) as {
      allowed_mentions: { parse: string[] };
      embeds: { title: string; description: string; footer: { text: string }; color: number }[];
    };
    expect(body.allowed_mentions).toEqual({ parse: [] });
    const [embed] = body.embeds;
    expect(chars(embed?.title ?? '')).toBeLessThanOrEqual(256);
    expect(chars(embed?.description ?? '')).toBeLessThanOrEqual(4096);
    expect(chars(`${embed?.title}${embed?.description}${embed?.footer.text}`)).toBeLessThanOrEqual(6000);
    const resolved = webhookBody('discord', notification({ event: 'resolve' })) as {
      embeds: { color: number; title: string }[];
    };
    expect(resolved.embeds[0]?.color).toBe(0x188038);
    expect(resolved.embeds[0]?.title).toMatch(/^\[Critical\] RESOLVED: /);
  });

  it('a test message says no alert is behind it, in every format', () => {
    for (const format of ['generic', 'slack', 'teams', 'discord'] as const) {
      const text = JSON.stringify(webhookBody(format, notification({ event: 'test', alerts: [] })));
      expect(text).toContain('TEST: rmm test notification for channel ops');
    }
  });
});
