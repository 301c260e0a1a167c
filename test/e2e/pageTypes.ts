// The few DOM types that functions evaluated inside the page use. The e2e suites typecheck with the Node
// tsconfig (no DOM lib), so page-side code reads `globalThis as unknown as PageWindow`. Types only.

export interface PageElement {
  textContent: string | null;
  readonly dataset: Readonly<Record<string, string | undefined>>;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): PageNodeList;
  append(...nodes: PageElement[]): void;
}

export interface PageNodeList {
  readonly length: number;
  item(index: number): PageElement | null;
}

export interface PageSocket {
  onopen: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  send(data: string | Uint8Array): void;
  close(): void;
}

export interface PageWindow {
  readonly document: {
    readonly body: PageElement;
    querySelectorAll(selector: string): PageNodeList;
    createElement(tag: string): PageElement;
    addEventListener(
      type: 'securitypolicyviolation',
      listener: (event: { readonly effectiveDirective: string; readonly blockedURI: string }) => void,
    ): void;
  };
  readonly location: { readonly host: string };
  readonly navigator: { readonly clipboard: { readText(): Promise<string> } };
  readonly WebSocket: new (url: string) => PageSocket;
  requestAnimationFrame(callback: () => void): number;
}
