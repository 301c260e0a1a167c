// The app's keyboard shortcuts, written once: the native menu shows them as accelerators and the renderer
// matches key presses against them (in the desktop app and in a browser alike) and lists them in its help
// sheet. Pure data and functions; imported by main and the renderer.

/** What a shortcut asks the renderer to do (the `command` event's values). */
export type AppCommand = 'toggleCachePanel' | 'newConversation' | 'openSettings' | 'openModels' | 'focusComposer' | 'focusSearch' | 'showShortcuts' | 'pinSelection';

export interface Shortcut {
  readonly command: AppCommand;
  /** `KeyboardEvent.key`, lower-case for letters. */
  readonly key: string;
  /** Ctrl, or ⌘ on macOS. */
  readonly mod: true;
  readonly shift?: true;
  /** What it does, for the help sheet and the menu. */
  readonly label: string;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { command: 'newConversation', key: 'n', mod: true, label: 'New conversation' },
  { command: 'focusSearch', key: 'k', mod: true, label: 'Search conversations' },
  { command: 'openSettings', key: ',', mod: true, label: 'Settings' },
  { command: 'focusComposer', key: 'l', mod: true, label: 'Go to the message box' },
  { command: 'toggleCachePanel', key: 'k', mod: true, shift: true, label: 'Show or hide the cache panel' },
  { command: 'openModels', key: 'm', mod: true, shift: true, label: 'Models' },
  { command: 'showShortcuts', key: '/', mod: true, label: 'Keyboard shortcuts' },
  { command: 'pinSelection', key: 'p', mod: true, shift: true, label: 'Pin the selected text to memory' },
];

/** Keys that are not commands, for the help sheet: [keys, what they do]. */
export const OTHER_KEYS: readonly (readonly [string, string])[] = [
  ['Enter', 'Send the message'],
  ['Shift+Enter', 'New line in the message'],
  ['Esc', 'Stop the reply being written'],
  ['F2', 'Rename the selected conversation'],
];

/** The shortcut of `command`. */
export function shortcutOf(command: AppCommand): Shortcut {
  const found = SHORTCUTS.find((s) => s.command === command);
  if (!found) throw new Error(`no shortcut for ${command}`);
  return found;
}

/** Electron's accelerator string ("CmdOrCtrl+Shift+K"). */
export function accelerator(shortcut: Readonly<Shortcut>): string {
  return ['CmdOrCtrl', ...(shortcut.shift ? ['Shift'] : []), shortcut.key.toUpperCase()].join('+');
}

/** How the help sheet writes it: "Ctrl+Shift+K", or "⌘⇧K" on macOS. */
export function keysLabel(shortcut: Readonly<Shortcut>, isMac: boolean): string {
  const key = shortcut.key.toUpperCase();
  return isMac ? `⌘${shortcut.shift ? '⇧' : ''}${key}` : ['Ctrl', ...(shortcut.shift ? ['Shift'] : []), key].join('+');
}

/** The key press as the renderer sees it. */
export interface KeyPress {
  readonly key: string;
  readonly ctrlKey: boolean;
  readonly metaKey: boolean;
  readonly shiftKey: boolean;
  readonly altKey: boolean;
}

/** The command a key press means, or null. ⌘ on macOS, Ctrl elsewhere; Alt never. */
export function commandFor(press: Readonly<KeyPress>, isMac: boolean): AppCommand | null {
  const mod = isMac ? press.metaKey && !press.ctrlKey : press.ctrlKey && !press.metaKey;
  if (!mod || press.altKey) return null;
  const key = press.key.toLowerCase();
  // Shift turns "/" into "?" and "," into "<" on US layouts; the shifted forms are not bound.
  return SHORTCUTS.find((s) => s.key === key && Boolean(s.shift) === press.shiftKey)?.command ?? null;
}
