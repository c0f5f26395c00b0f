import type { WebhookFormat } from '../resources/kinds.js';
import type { NotificationContent } from './content.js';
import { alertLine, boundedLines, cutText, headline, testText } from './notification-text.js';

/**
 * The JSON body of a webhook in each format (docs/notifications.md#webhook-formats). Each stays
 * within its receiver's limits however many alerts a group holds: Slack's 3,000 characters per
 * section, Teams' 28 KB per card, Discord's 256/4,096/6,000 characters per title, description and
 * embed.
 */
export function webhookBody(format: WebhookFormat, content: NotificationContent): unknown {
  switch (format) {
    case 'generic':
      return genericBody(content);
    case 'slack':
      return slackBody(content);
    case 'teams':
      return teamsBody(content);
    case 'discord':
      return discordBody(content);
  }
}

/** The version of the generic body; a change that breaks a reader bumps it. */
export const GENERIC_VERSION = 1;
/** The most alerts a generic body lists; `alertCount` says how many the notification carries. */
export const GENERIC_MAX_ALERTS = 1000;

function genericBody(content: NotificationContent) {
  return {
    version: GENERIC_VERSION,
    id: content.id,
    event: content.event,
    channel: content.channel,
    group: content.group,
    severity: content.severity,
    summary: headline(content),
    createdAt: new Date(content.createdAt).toISOString(),
    alertCount: content.alerts.length,
    alerts: content.alerts.slice(0, GENERIC_MAX_ALERTS),
  };
}

/** The lines under the headline: the alerts, or what a test message says. */
function detailLines(content: NotificationContent, limit: number): string[] {
  if (content.event === 'test') return [testText(content)];
  return boundedLines(content.alerts.map(alertLine), limit);
}

/** Slack's mrkdwn gives `&`, `<` and `>` meaning (links, `<!channel>`): they are escaped. */
const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function slackBody(content: NotificationContent) {
  const title = slackEscape(headline(content));
  const lines = detailLines(content, 30).map((line) => `• ${slackEscape(line)}`);
  return {
    text: cutText(title, 3000),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: cutText(`*${title}*`, 3000) } },
      { type: 'section', text: { type: 'mrkdwn', text: cutText(lines.join('\n'), 3000) } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: cutText(slackEscape(`rmm · channel ${content.channel} · ${content.id}`), 3000),
          },
        ],
      },
    ],
  };
}

/** A Microsoft Teams Workflows webhook's message: one Adaptive Card (1.4). */
function teamsBody(content: NotificationContent) {
  const attention = content.event === 'fire' || content.event === 'repeat';
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: cutText(headline(content), 1000),
              weight: 'Bolder',
              size: 'Medium',
              wrap: true,
              ...(attention && content.severity !== 'Info' ? { color: 'Attention' } : {}),
            },
            ...detailLines(content, 50).map((line) => ({
              type: 'TextBlock',
              text: cutText(line, 400),
              wrap: true,
              spacing: 'None',
            })),
            {
              type: 'TextBlock',
              text: `rmm · channel ${content.channel} · ${content.id}`,
              isSubtle: true,
              size: 'Small',
              wrap: true,
            },
          ],
        },
      },
    ],
  };
}

const DISCORD_COLORS = { Critical: 0xd93025, Warning: 0xf29900, Info: 0x1a73e8, resolved: 0x188038 } as const;

function discordBody(content: NotificationContent) {
  const color = content.event === 'resolve' ? DISCORD_COLORS.resolved : DISCORD_COLORS[content.severity];
  return {
    // Alert text never pings anyone: @everyone or a role in a title stays text.
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: cutText(headline(content), 256),
        description: cutText(detailLines(content, 30).join('\n'), 4096),
        color,
        footer: { text: cutText(`rmm · channel ${content.channel} · ${content.id}`, 1024) },
        timestamp: new Date(content.createdAt).toISOString(),
      },
    ],
  };
}
