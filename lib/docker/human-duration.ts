/**
 * Docker's human durations ("5 minutes", "About an hour"), as `docker ps` prints them in its
 * Status column: formatting, how long a text stays true, and reading one back.
 */

/** Docker's units.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/**
 * How long humanDuration(ms) keeps its text, in ms (at least 1): until the next second below a
 * minute, the next minute below an hour, then until the rounded hour changes (the day, week,
 * month and year texts change only when the hours do, so this may be early, never late).
 */
export function humanDurationStableMs(ms: number): number {
  if (!Number.isFinite(ms)) return 1000;
  if (ms < 60_000) return 1000 - (ms % 1000);
  if (ms < 3_600_000) return 60_000 - (ms % 60_000);
  const hour = 3_600_000;
  return Math.max(1, (Math.floor(ms / hour + 0.5) + 0.5) * hour - ms);
}

/**
 * The shortest duration humanDuration writes as `text` ("5 minutes" -> 5 minutes, "2 hours"
 * -> 1.5 hours, "About an hour" -> 1 hour); NaN for anything else. Reads an engine's Status column
 * back when only its container list is known yet.
 */
export function parseHumanDuration(text: string): number {
  if (text === 'Less than a second') return 0;
  if (text === 'About a minute') return 60_000;
  if (text === 'About an hour') return 3_600_000;
  const m = /^(\d+) (second|minute|hour|day|week|month|year)s?$/.exec(text);
  if (!m) return NaN;
  const n = Number(m[1]);
  if (m[2] === 'second') return n * 1000;
  if (m[2] === 'minute') return n * 60_000;
  // From an hour on, humanDuration rounds to the nearest hour: the range starts half an hour early.
  const hours = { hour: 1, day: 24, week: 24 * 7, month: 24 * 30, year: 24 * 365 }[m[2] as 'hour'];
  return (n * hours - 0.5) * 3_600_000;
}
