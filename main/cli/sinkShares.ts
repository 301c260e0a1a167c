// The running mean of the attention share on the sink slots, over the steps of a CLI run (`--attention`),
// overall and per layer. Plain Node.
import type { AttentionFrame } from '../../common/attentionView';

export class SinkShares {
  private steps = 0;
  private total = 0;
  private perLayer: number[] = [];

  add(frame: Readonly<AttentionFrame>): void {
    this.steps++;
    this.total += frame.sinkShare;
    frame.layerSinkShare.forEach((share, l) => (this.perLayer[l] = (this.perLayer[l] ?? 0) + share));
  }

  /** The mean share over the steps added (overall, per layer); zeros before any. */
  mean(): { readonly all: number; readonly layers: readonly number[] } {
    const n = Math.max(1, this.steps);
    return { all: this.total / n, layers: this.perLayer.map((s) => s / n) };
  }

  /** One line for a terminal: "attention on the 4 sinks: 41.2% (layers 1-5: 12.0% 55.1% …) over 3,000 steps". */
  describe(sink: number): string {
    const { all, layers } = this.mean();
    const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
    return `attention on the ${sink} sink slots: ${pct(all)} (layers 1-${layers.length}: ${layers.map(pct).join(' ')}) over ${this.steps.toLocaleString('en-US')} steps`;
  }
}
