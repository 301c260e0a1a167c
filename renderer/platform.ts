// What the renderer knows of the OS it runs on. Renderer.

/** macOS (⌘ shortcuts), from the browser's platform string. */
export function isMacPlatform(): boolean {
  return /Mac|iPhone|iPad/.test(globalThis.navigator?.platform ?? '');
}
