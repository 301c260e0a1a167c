// Number, time and size formatting for the UI (footer stats, sidebar dates, model sizes). Renderer.

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1, minimumFractionDigits: 1 });

/** 12,345 */
export function formatCount(value: number): string {
  return integer.format(value);
}

/** "1 token", "1,024 tokens". */
export function formatTokens(count: number): string {
  return `${formatCount(count)} ${count === 1 ? 'token' : 'tokens'}`;
}

/** 23.4 */
export function formatRate(value: number): string {
  return oneDecimal.format(value);
}

/** "840 ms" or "2.4 s". */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${integer.format(ms)} ms` : `${oneDecimal.format(ms / 1000)} s`;
}

/** "1.5 MB" */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${integer.format(value)} B` : `${oneDecimal.format(value)} ${units[unit]}`;
}

/** "just now", "5 min ago", "14:05", "Yesterday", "Mon", "12 Mar", "12 Mar 2023" relative to `now`. */
export function formatWhen(at: number, now: number): string {
  const diff = now - at;
  if (diff < 60_000) return 'just now';
  if (diff < 3_600_000) return `${Math.floor(diff / 60_000)} min ago`;
  const then = new Date(at);
  const today = new Date(now);
  const startOfToday = new Date(today.getFullYear(), today.getMonth(), today.getDate()).getTime();
  if (at >= startOfToday) return then.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (at >= startOfToday - 86_400_000) return 'Yesterday';
  if (at >= startOfToday - 6 * 86_400_000) return then.toLocaleDateString(undefined, { weekday: 'short' });
  const sameYear = then.getFullYear() === today.getFullYear();
  return then.toLocaleDateString(undefined, sameYear ? { day: 'numeric', month: 'short' } : { day: 'numeric', month: 'short', year: 'numeric' });
}
