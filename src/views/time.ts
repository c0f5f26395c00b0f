/** SQLite's 'YYYY-MM-DD HH:MM:SS' (UTC, as CURRENT_TIMESTAMP writes it) as ISO 8601; anything else as it is. */
export function isoTime(text: string | null): string | null {
  return text && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text) ? `${text.replace(' ', 'T')}Z` : text;
}
