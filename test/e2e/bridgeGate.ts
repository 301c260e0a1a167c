// Freezes what the page sees of the event stream at a chosen event, while the engine runs on: the page's
// bridge socket is routed through Playwright and server frames are held from then on until released.
// For deterministic mid-stream screenshots and assertions. Runs under Vitest (Node side of Playwright).
import type { Page } from 'playwright-core';
import { BRIDGE_PATH, type AppEvent } from '../../common/contract';

export interface BridgeGate {
  /**
   * Passes frames until `test` has matched `count` events, then holds every later server frame;
   * resolves once holding. Rejects if an event matching `giveUp` passes first (e.g. the reply's
   * `done`: it ended too soon). One hold at a time.
   */
  holdAfter(test: (event: AppEvent) => boolean, count?: number, giveUp?: (event: AppEvent) => boolean): Promise<void>;
  /** Delivers the held frames in order and passes frames again. */
  release(): void;
}

interface Rule {
  readonly test: (event: AppEvent) => boolean;
  readonly giveUp: (event: AppEvent) => boolean;
  remaining: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** Routes the page's bridge socket through a gate; call before the app loads (`openPage({ beforeLoad })`). */
export async function gateBridge(page: Page): Promise<BridgeGate> {
  let rule: Rule | null = null;
  let held: (string | Buffer)[] | null = null;
  let toPage: ((message: string | Buffer) => void) | null = null;

  await page.routeWebSocket(
    (url) => url.pathname === BRIDGE_PATH,
    (ws) => {
      const server = ws.connectToServer();
      toPage = (message) => ws.send(message);
      server.onMessage((message) => {
        if (held) {
          held.push(message);
          return;
        }
        ws.send(message);
        const event = rule && typeof message === 'string' ? eventOf(message) : null;
        if (!rule || !event) return;
        if (rule.test(event) && --rule.remaining <= 0) {
          held = [];
          rule.resolve();
          rule = null;
        } else if (rule.giveUp(event)) {
          rule.reject(new Error(`a ${event.type} event passed before the gate could hold (${rule.remaining} more to go)`));
          rule = null;
        }
      });
    },
  );

  return {
    holdAfter(test, count = 1, giveUp = () => false) {
      if (rule || held) return Promise.reject(new Error('the gate is already holding or about to'));
      return new Promise<void>((resolve, reject) => {
        rule = { test, giveUp, remaining: count, resolve, reject };
      });
    },
    release() {
      const frames = held ?? [];
      held = null;
      for (const frame of frames) toPage?.(frame);
    },
  };
}

/** The event a server frame carries, or null (a reply, or unreadable). */
function eventOf(message: string): AppEvent | null {
  try {
    const frame = JSON.parse(message) as unknown;
    if (typeof frame !== 'object' || frame === null || !('event' in frame)) return null;
    return (frame as { event: AppEvent }).event;
  } catch {
    return null;
  }
}
