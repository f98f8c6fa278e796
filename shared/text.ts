// Cleans free text before an agent sends it, so that what it reports always
// passes the service's one rule for device text (PLAIN_TEXT_PATTERN).
import { NOT_PLAIN_TEXT } from './schemas/common.ts';

/**
 * `raw` with every character the rule refuses replaced by a space (line
 * breaks in an error message still separate its words), runs of spaces
 * collapsed, trimmed, and cut to at most `max` UTF-16 units without
 * splitting a surrogate pair.
 */
export function toPlainText(raw: string, max: number): string {
  let s = raw.replace(NOT_PLAIN_TEXT, ' ').replace(/ {2,}/g, ' ').trim();
  if (s.length > max) {
    s = s.slice(0, max);
    // A pair cut in half would leave an unpaired surrogate, which the rule refuses.
    if (/[\ud800-\udbff]$/.test(s)) s = s.slice(0, -1);
  }
  return s;
}
