// The keyboard shortcuts table: key presses to commands (⌘ on macOS, Ctrl elsewhere), and how the menu and
// the help sheet write them. Runs under Vitest (Node).
import { describe, expect, it } from 'vitest';
import { accelerator, commandFor, keysLabel, shortcutOf, SHORTCUTS, type KeyPress } from '../../common/shortcuts';

const press = (key: string, mods: Partial<KeyPress> = {}): KeyPress => ({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });

describe('shortcuts', () => {
  it('maps Ctrl (⌘ on macOS) presses to commands, with and without Shift', () => {
    expect(commandFor(press('n', { ctrlKey: true }), false)).toBe('newConversation');
    expect(commandFor(press('k', { ctrlKey: true }), false)).toBe('focusSearch');
    expect(commandFor(press('K', { ctrlKey: true, shiftKey: true }), false)).toBe('toggleCachePanel');
    expect(commandFor(press(',', { metaKey: true }), true)).toBe('openSettings');
    expect(commandFor(press('/', { ctrlKey: true }), false)).toBe('showShortcuts');
    // The other platform's modifier, Alt, or no modifier at all mean nothing.
    expect(commandFor(press('n', { metaKey: true }), false)).toBeNull();
    expect(commandFor(press('n', { ctrlKey: true }), true)).toBeNull();
    expect(commandFor(press('n', { ctrlKey: true, altKey: true }), false)).toBeNull();
    expect(commandFor(press('n'), false)).toBeNull();
  });

  it('writes them for the menu and the help sheet, each key combination once', () => {
    expect(accelerator(shortcutOf('toggleCachePanel'))).toBe('CmdOrCtrl+Shift+K');
    expect(keysLabel(shortcutOf('toggleCachePanel'), false)).toBe('Ctrl+Shift+K');
    expect(keysLabel(shortcutOf('openSettings'), true)).toBe('⌘,');
    const combos = SHORTCUTS.map((s) => accelerator(s));
    expect(new Set(combos).size).toBe(combos.length);
  });
});
