// The length of two strings' shared prefix, in UTF-16 code units (engine host: chat-template geometry).

/** How many leading code units `a` and `b` share. */
export function commonPrefixLength(a: string, b: string): number {
  if (b.startsWith(a)) return a.length;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}
