// Which message each cache write of a streaming reply spells, before the engine's exact map arrives with
// the next idle view: reply tokens from their `token` events (position and text), the prompt's tokens
// by lining their display texts up with the user message. Also the live decode rate. Renderer.
import type { CacheModel, WriteOwner } from './cacheModel';
import { alignPrompt, type PromptWrite } from './promptAlignment';

/**
 * A stream as it is followed from its first event (which may come before its StreamStart tells which
 * messages it writes) to its end.
 */
interface Track {
  readonly seq: number;
  /** Known once the StreamStart arrived. */
  replyId: string | null;
  /** The user message this reply answers (its tokens are this stream's prefill), if any. */
  promptId: string | null;
  promptText: string;
  /** Characters of the reply emitted so far, and where the token at each position begins. */
  replyChars: number;
  readonly tokenChars: Map<number, number>;
  /** Reply writes made before the reply's id was known: labelled when it is. */
  readonly unlabelled: { slot: number; pos: number; char: number }[];
  /** This stream's writes before its first token: the prompt, aligned with `promptText`. */
  readonly prefill: PromptWrite[];
  decoding: boolean;
  /** Arrival times (ms) of the last token events. */
  readonly times: number[];
}

/** Token arrivals the live rate is measured over. */
const RATE_WINDOW = 32;

/** Follows one stream at a time; writes owners into the model it is given (which it does not own). */
export class LiveAttribution {
  private track: Track | null = null;

  constructor(
    private readonly model: CacheModel,
    private readonly now: () => number,
  ) {}

  /** The stream `seq` started: `replyId` answers `prompt` (null for none). Labels what it wrote before; true if it did. */
  start(seq: number, replyId: string, prompt: { readonly id: string; readonly content: string } | null): boolean {
    const t = this.trackOf(seq);
    t.replyId = replyId;
    t.promptId = prompt?.id ?? null;
    t.promptText = prompt?.content ?? '';
    if (t.unlabelled.length === 0 && t.prefill.length === 0) return false;
    const { model } = this;
    const owner = model.ownerIndex(replyId);
    for (const w of t.unlabelled.splice(0)) {
      if (model.pos[w.slot] !== w.pos) continue;
      model.owner[w.slot] = owner;
      model.ownerChar[w.slot] = w.char;
    }
    this.alignPrompt(t);
    model.version++;
    return true;
  }

  /** The stream ended: forget it. */
  end(): void {
    this.track = null;
  }

  /** A `token` event: where the reply's token at `pos` begins in its text. */
  token(seq: number, pos: number, slot: number, text: string): void {
    const t = this.trackOf(seq);
    if (slot >= 0) {
      t.decoding = true;
      t.tokenChars.set(pos, t.replyChars);
      t.times.push(this.now());
      if (t.times.length > RATE_WINDOW) t.times.shift();
    }
    t.replyChars += text.length;
  }

  /** The owners of one step's writes (before the model applies it). */
  owners(seq: number, writes: readonly { readonly slot: number; readonly pos: number }[], texts: readonly string[]): WriteOwner[] {
    const t = this.trackOf(seq);
    const owners: WriteOwner[] = [];
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i];
      const char = t.tokenChars.get(w.pos);
      if (char !== undefined) {
        t.tokenChars.delete(w.pos);
        if (t.replyId !== null) {
          owners.push({ owner: this.model.ownerIndex(t.replyId), char });
          continue;
        }
        t.unlabelled.push({ slot: w.slot, pos: w.pos, char });
      } else if (!t.decoding) {
        t.prefill.push({ slot: w.slot, pos: w.pos, text: texts[i] ?? '' });
      }
      owners.push({ owner: -1, char: -1 });
    }
    return owners;
  }

  /** After a prefill step is applied: re-attributes the prompt's writes now that more of it is fed. */
  applied(seq: number): void {
    const t = this.trackOf(seq);
    if (!t.decoding) this.alignPrompt(t);
  }

  /** Decode tokens per second over the last token arrivals, or null. */
  rate(): number | null {
    const times = this.track?.times;
    if (!times || times.length < 2) return null;
    const span = times[times.length - 1] - times[0];
    return span > 0 ? ((times.length - 1) * 1000) / span : null;
  }

  private trackOf(seq: number): Track {
    if (this.track?.seq !== seq) {
      this.track = { seq, replyId: null, promptId: null, promptText: '', replyChars: 0, tokenChars: new Map(), unlabelled: [], prefill: [], decoding: false, times: [] };
    }
    return this.track;
  }

  private alignPrompt(t: Track): void {
    if (t.promptId === null || t.prefill.length === 0) return;
    const { model } = this;
    const chars = alignPrompt(t.prefill, t.promptText);
    const owner = model.ownerIndex(t.promptId);
    t.prefill.forEach((w, k) => {
      if (model.pos[w.slot] !== w.pos) return;
      model.owner[w.slot] = chars[k] >= 0 ? owner : -1;
      model.ownerChar[w.slot] = chars[k];
    });
  }
}
