import { printable } from '../printable.js';

/** The most characters of a server's answer kept: enough to read an error, never a page of HTML. */
export const ANSWER_LIMIT = 300;

/**
 * A server's answer as SendResult carries it: each secret taken out (what a webhook URL holds may
 * come back in an error), on one printable line, cut to ANSWER_LIMIT characters.
 */
export function cleanAnswer(text: string, secrets: readonly string[] = []): string {
  let clean = text;
  // Longest first, so a secret's part never leaves the rest of it showing.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length))
    if (secret !== '') clean = clean.split(secret).join('(hidden)');
  clean = printable(clean.replace(/\s+/g, ' ').trim());
  const chars = Array.from(clean);
  return chars.length <= ANSWER_LIMIT ? clean : `${chars.slice(0, ANSWER_LIMIT - 1).join('')}…`;
}

/** Parts of a URL short enough to be no secret are kept; the token-bearing ones are hidden. */
const SHORTEST_SECRET_PART = 8;

/**
 * What of a webhook URL must never be shown: the whole URL, its path and query, and each path segment,
 * query value and user info long enough to be a token (Slack, Discord and Teams put theirs there).
 */
export function secretPartsOfUrl(raw: string, url: URL): string[] {
  const parts = [raw, url.href, `${url.pathname}${url.search}`, url.username, url.password];
  for (const segment of url.pathname.split('/')) parts.push(segment, decodeSafely(segment));
  for (const value of url.searchParams.values()) parts.push(value, encodeURIComponent(value));
  return [...new Set(parts)].filter((part) => part.length >= SHORTEST_SECRET_PART);
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
