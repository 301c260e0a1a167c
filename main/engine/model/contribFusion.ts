// Load-time fusion of two per-layer subgraphs into onnxruntime's contrib ops (issue 14), what its
// offline Python transformer optimizer does for Llama graphs and its runtime optimizer does not:
// - a residual Add followed by an RMSNorm (Pow, ReduceMean, Add eps, Sqrt, Div or reciprocal-Mul, Mul
//   weight) becomes one SkipSimplifiedLayerNormalization, whose fourth output is the residual sum;
// - HF's apply_rotary_pos_emb on a [batch, heads, seq, dim] tensor (x·cos + rotate_half(x)·sin, the
//   halves taken by two Slices or a Split) becomes one RotaryEmbedding.
// The rotary fusion runs 6 nodes fewer per rotated q or k; the norm's, one Add fewer per norm (onnxruntime
// fuses the norm's own nodes itself). DEFAULT_CONTRIB_FUSIONS says which pay. The rotary
// op reads the graph's own cos and sin (their first halves: HF's cos is cat(freqs, freqs)), with position
// ids 0..seq-1 into them, so the angles are the model's, whatever its rope scaling; only the float rounding
// of each product's sum may differ. That indexing takes the first sequence's rows: the engine feeds one
// sequence per run.
// Runs in the engine host at model load (CPU and WebGPU sessions), on the model's bytes without its weights.
import { constantTensor, intAttribute, intsAttribute, readerNodes, scanModel, tensorDims, type GraphFacts, type ProducerNode } from './graphFacts';
import { int64Initializer, node } from './graphNodes';
import { GRAPH_INITIALIZER, GRAPH_NODE, MODEL_GRAPH, MODEL_OPSET_IMPORT, NODE_ATTRIBUTE, OPSET_DOMAIN, OPSET_VERSION } from './onnxFields';
import { fieldString, forEachField, spliceFields, WIRE_LEN, WireWriter, type FieldEdit, type FieldSpan } from './protoWire';

/** How many subgraphs the fusion replaced. */
export interface ContribFusions {
  readonly skipNorms: number;
  readonly rotaries: number;
}

/** The two fusions, each applied or not. */
export type ContribFusion = 'skipNorm' | 'rotary';

/**
 * What a session gets: the rotary fusion only. On SmolLM2's shapes (bench/README section 21) it makes
 * a decode step 3–8% and a 256-token chunk 0.5–4% cheaper; the norm fusion saves nothing on top of it in
 * a decode step (fp32: 3–5% dearer) and costs 4–6% of a chunk: onnxruntime 1.31's CPU kernel for
 * SkipSimplifiedLayerNormalization walks each row in scalar loops (a division per element), where the
 * graph's norm, which onnxruntime fuses into SimplifiedLayerNormalization itself, and its Add are vectorized.
 */
export const DEFAULT_CONTRIB_FUSIONS: readonly ContribFusion[] = ['rotary'];

const PREFIX = 'ouro_fused';
const MS_DOMAIN = 'com.microsoft';
/** Slice ends at or past this run to the end of the axis (exporters write INT64_MAX or INT32_MAX). */
const TO_THE_END = 2 ** 31 - 1;
/** Nodes walked back from a rotary Mul's cos or sin operand to HF's cat(freqs, freqs). */
const TRIG_TRACE_DEPTH = 8;
/** Nodes compared back from two traced split points (Shape, Gather, Div, Unsqueeze, Cast). */
const VALUE_TRACE_DEPTH = 8;

const isDefaultDomain = (n: ProducerNode) => n.domain === '' || n.domain === 'ai.onnx';

/** One residual Add and the RMSNorm reading its sum. */
interface SkipNorm {
  readonly add: ProducerNode;
  readonly norm: readonly ProducerNode[];
  readonly gamma: string;
  readonly epsilon: number;
  readonly normed: string;
  /** Whether anything besides the norm reads the residual sum (then the fused node outputs it). */
  readonly sumRead: boolean;
}

/** One apply_rotary_pos_emb: its final Add, the nodes it replaces, and what the fused op reads. */
interface Rotary {
  readonly add: ProducerNode;
  readonly nodes: readonly ProducerNode[];
  readonly x: string;
  readonly cos: string;
  readonly sin: string;
}

class Matcher {
  private readonly readerNodes: ReadonlyMap<string, readonly ProducerNode[]>;

  constructor(
    private readonly model: Uint8Array,
    private readonly facts: GraphFacts,
  ) {
    this.readerNodes = readerNodes(facts);
  }

  readers(value: string): readonly ProducerNode[] {
    return this.readerNodes.get(value) ?? [];
  }

  constant(name: string): readonly number[] | null {
    return constantTensor(this.model, this.facts, name)?.values ?? null;
  }

  /** The one node reading `value` when it is a default-domain `opType` and `value` is no graph output. */
  soleReader(value: string, ...opTypes: string[]): ProducerNode | null {
    const rs = this.readers(value);
    if (rs.length !== 1 || this.facts.outputs.has(value) || !opTypes.includes(rs[0].opType) || !isDefaultDomain(rs[0])) return null;
    return rs[0];
  }

  producer(value: string, opType: string): ProducerNode | null {
    const p = this.facts.producers.get(value);
    return p !== undefined && p.opType === opType && isDefaultDomain(p) ? p : null;
  }

  /** `value`, produced by a default-domain `opType` node read only by the node consuming it here. */
  soleProducer(value: string, opType: string): ProducerNode | null {
    const p = this.producer(value, opType);
    return p !== null && this.readers(value).length === 1 && !this.facts.outputs.has(value) ? p : null;
  }

  isConstant(value: string): boolean {
    return this.facts.initializers.has(value) || this.producer(value, 'Constant') !== null;
  }

  /** A node's list-valued operand: its attribute before the opset that made it an input, else the input. */
  listOperand(n: ProducerNode, attribute: string, inputIndex: number): readonly number[] | null {
    const attr = intsAttribute(this.model, n, attribute);
    if (attr !== null) return attr;
    const input = n.inputs[inputIndex];
    return input === undefined || input === '' ? null : this.constant(input);
  }

  skipNorm(add: ProducerNode): SkipNorm | null {
    if (add.opType !== 'Add' || !isDefaultDomain(add) || add.inputs.length !== 2 || add.inputs.some((i) => i === '' || this.isConstant(i))) return null;
    const sum = add.outputs[0];
    const pow = this.readers(sum).find((n) => n.opType === 'Pow' && isDefaultDomain(n) && n.inputs[0] === sum && same(this.constant(n.inputs[1]), [2]));
    if (pow === undefined) return null;
    const mean = this.soleReader(pow.outputs[0], 'ReduceMean');
    if (mean === null || !same(this.listOperand(mean, 'axes', 1), [-1]) || (intAttribute(this.model, mean, 'keepdims') ?? 1) !== 1) return null;
    const addEps = this.soleReader(mean.outputs[0], 'Add');
    const eps = addEps === null ? null : this.constant(addEps.inputs[addEps.inputs[0] === mean.outputs[0] ? 1 : 0]);
    if (addEps === null || eps === null || eps.length !== 1) return null;
    const sqrt = this.soleReader(addEps.outputs[0], 'Sqrt');
    if (sqrt === null) return null;
    const norm = [pow, mean, addEps, sqrt];
    const rms = sqrt.outputs[0];
    // x / rms, or x · (1 / rms) with the reciprocal as Div(1, rms) (torch's rsqrt) or Reciprocal.
    let scaled = this.soleReader(rms, 'Div', 'Reciprocal');
    if (scaled === null) return null;
    if (scaled.opType === 'Div' && scaled.inputs[0] === sum && scaled.inputs[1] === rms) {
      norm.push(scaled);
    } else {
      if (scaled.opType === 'Div' && !(scaled.inputs[1] === rms && same(this.constant(scaled.inputs[0]), [1]))) return null;
      const times = this.soleReader(scaled.outputs[0], 'Mul');
      if (times === null || !sameSet(times.inputs, [sum, scaled.outputs[0]])) return null;
      norm.push(scaled, times);
      scaled = times;
    }
    const weighted = this.soleReader(scaled.outputs[0], 'Mul');
    if (weighted === null || weighted.inputs.length !== 2) return null;
    const gamma = weighted.inputs[weighted.inputs[0] === scaled.outputs[0] ? 1 : 0];
    const gammaInit = this.facts.initializers.get(gamma);
    if (gammaInit === undefined || this.facts.inputs.has(gamma) || tensorDims(this.model, gammaInit).length !== 1) return null;
    norm.push(weighted);
    const sumRead = this.facts.outputs.has(sum) || this.readers(sum).some((n) => !norm.includes(n));
    return { add, norm, gamma, epsilon: eps[0], normed: weighted.outputs[0], sumRead };
  }

  rotary(add: ProducerNode): Rotary | null {
    if (add.opType !== 'Add' || !isDefaultDomain(add) || add.inputs.length !== 2) return null;
    const muls = add.inputs.map((i) => this.soleProducer(i, 'Mul'));
    if (muls[0] === null || muls[1] === null) return null;
    for (const [byCos, bySin] of [[muls[0], muls[1]], [muls[1], muls[0]]]) {
      for (const side of [0, 1]) {
        const rotated = bySin.inputs[side];
        const sin = bySin.inputs[1 - side];
        const concat = this.soleProducer(rotated, 'Concat');
        if (concat === null || concat.inputs.length !== 2 || !LAST_AXIS_4D.has(intAttribute(this.model, concat, 'axis') ?? NaN)) continue;
        const neg = this.soleProducer(concat.inputs[0], 'Neg');
        const halves = neg === null ? null : this.halves(concat.inputs[1], neg.inputs[0]);
        if (neg === null || halves === null) continue;
        const cos = byCos.inputs[0] === halves.x ? byCos.inputs[1] : byCos.inputs[1] === halves.x ? byCos.inputs[0] : null;
        if (cos === null || !this.duplicatedTrig(cos, 'Cos') || !this.duplicatedTrig(sin, 'Sin')) continue;
        return { add, nodes: [byCos, bySin, concat, neg, ...halves.nodes], x: halves.x, cos, sin };
      }
    }
    return null;
  }

  /** The tensor whose last-axis halves `first` and `second` are (HF's x1, x2), and the nodes taking them. */
  private halves(first: string, second: string): { x: string; nodes: ProducerNode[] } | null {
    const split = this.producer(first, 'Split');
    if (split !== null) {
      if (this.producer(second, 'Split') !== split || split.outputs.length !== 2 || split.outputs[0] !== first || split.outputs[1] !== second) return null;
      if (this.readers(first).length !== 1 || this.readers(second).length !== 1 || !LAST_AXIS_4D.has(intAttribute(this.model, split, 'axis') ?? 0)) return null;
      const sizes = this.listOperand(split, 'split', 1);
      const equal = sizes === null ? (intAttribute(this.model, split, 'num_outputs') ?? 2) === 2 : sizes.length === 2 && sizes[0] === sizes[1];
      return equal ? { x: split.inputs[0], nodes: [split] } : null;
    }
    const a = this.soleProducer(first, 'Slice');
    const b = this.soleProducer(second, 'Slice');
    if (a === null || b === null || a.inputs[0] !== b.inputs[0] || a.inputs.length < 4 || b.inputs.length < 4) return null;
    for (const s of [a, b]) {
      const axes = this.constant(s.inputs[3]);
      if (axes === null || axes.length !== 1 || !LAST_AXIS_4D.has(axes[0])) return null;
      if (s.inputs[4] !== undefined && s.inputs[4] !== '' && !same(this.constant(s.inputs[4]), [1])) return null;
    }
    if (!same(this.constant(a.inputs[1]), [0])) return null;
    // x[..., :h] and x[..., h:]: the same h and the second running to the end.
    const [aEnd, bEnd] = [this.constant(a.inputs[2]), this.constant(b.inputs[2])];
    const sameSplit = this.equalValues(a.inputs[2], b.inputs[1]);
    const toEnd = bEnd !== null && bEnd.length === 1 && (bEnd[0] >= TO_THE_END || (aEnd !== null && aEnd.length === 1 && bEnd[0] === 2 * aEnd[0]));
    return sameSplit && toEnd ? { x: a.inputs[0], nodes: [a, b] } : null;
  }

  /**
   * Whether `a` and `b` hold the same value: one name, equal constants, or the outputs of nodes alike in
   * op, attributes and (recursively) inputs, as torch's tracing writes `x.shape[-1] // 2` once per use.
   */
  private equalValues(a: string, b: string, depth = 0): boolean {
    if (a === b) return true;
    const [ca, cb] = [this.constant(a), this.constant(b)];
    if (ca !== null || cb !== null) return same(ca, cb);
    const [pa, pb] = [this.facts.producers.get(a), this.facts.producers.get(b)];
    if (pa === undefined || pb === undefined || depth === VALUE_TRACE_DEPTH || pa.opType !== pb.opType || pa.domain !== pb.domain) return false;
    if (pa.inputs.length !== pb.inputs.length || pa.outputs.indexOf(a) !== pb.outputs.indexOf(b)) return false;
    if (!sameBytes(this.attributeBytes(pa), this.attributeBytes(pb))) return false;
    return pa.inputs.every((input, i) => this.equalValues(input, pb.inputs[i], depth + 1));
  }

  private attributeBytes(n: ProducerNode): Uint8Array {
    const w = new WireWriter();
    forEachField(this.model, n.node.start, n.node.end, (f) => {
      if (f.no === NODE_ATTRIBUTE) w.raw(this.model.subarray(f.offset, f.end));
    });
    return w.finish();
  }

  /**
   * Whether `value` is HF's cos (or sin) unsqueezed on the heads axis: Unsqueeze(axes [1]) of `trig`
   * (possibly scaled by a constant and cast) of cat(freqs, freqs) on the last axis, so its two halves are
   * equal and a [rows, dim / 2] table of them is exact.
   */
  private duplicatedTrig(value: string, trig: 'Cos' | 'Sin'): boolean {
    const unsqueeze = this.producer(value, 'Unsqueeze');
    if (unsqueeze === null || !same(this.listOperand(unsqueeze, 'axes', 1), [1])) return false;
    let at = unsqueeze.inputs[0];
    let sawTrig = false;
    for (let depth = 0; depth < TRIG_TRACE_DEPTH; depth++) {
      const p = this.facts.producers.get(at);
      if (p === undefined || !isDefaultDomain(p)) return false;
      if (p.opType === trig && !sawTrig) {
        sawTrig = true;
        at = p.inputs[0];
      } else if (p.opType === 'Cast') {
        at = p.inputs[0];
      } else if ((p.opType === 'Mul' || p.opType === 'Div') && p.inputs.length === 2) {
        const scalar = (i: number) => this.constant(p.inputs[i])?.length === 1;
        if (scalar(1)) at = p.inputs[0];
        else if (p.opType === 'Mul' && scalar(0)) at = p.inputs[1];
        else return false;
      } else {
        return sawTrig && p.opType === 'Concat' && p.inputs.length === 2 && p.inputs[0] === p.inputs[1] && LAST_AXIS_3D.has(intAttribute(this.model, p, 'axis') ?? NaN);
      }
    }
    return false;
  }
}

/** The last axis of a [batch, heads, seq, dim] tensor, and of HF's [batch, seq, dim] freqs. */
const LAST_AXIS_4D = new Set([-1, 3]);
const LAST_AXIS_3D = new Set([-1, 2]);

function same(a: readonly number[] | null, b: readonly number[] | null): boolean {
  return a !== null && b !== null && a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v) => b.includes(v)) && b.every((v) => a.includes(v));
}

const SUBGRAPH_OPS = new Set(['If', 'Loop', 'Scan']);

/**
 * What else the graph no longer reads once `gone` are out and the fused nodes read `fusedInputs`: the
 * slices' constants, a traced half's shape arithmetic, initializers no node reads (onnxruntime would warn
 * about each at every load and still run the dead nodes' neighbours). Left alone when a subgraph might read
 * an outer value.
 */
function deadAfter(facts: GraphFacts, gone: readonly ProducerNode[], fusedInputs: readonly string[]): { nodes: ProducerNode[]; initializers: FieldSpan[] } {
  const nodes = new Set(facts.producers.values());
  if ([...nodes].some((n) => SUBGRAPH_OPS.has(n.opType))) return { nodes: [], initializers: [] };
  const reads = new Map(facts.readers);
  for (const name of fusedInputs) reads.set(name, (reads.get(name) ?? 0) + 1);
  const dead = new Set(gone);
  const deadNodes: ProducerNode[] = [];
  const initializers: FieldSpan[] = [];
  const queue = [...gone];
  while (queue.length > 0) {
    for (const input of queue.shift()!.inputs) {
      if (input === '') continue;
      const left = (reads.get(input) ?? 0) - 1;
      reads.set(input, left);
      if (left > 0 || facts.inputs.has(input)) continue;
      const init = facts.initializers.get(input);
      if (init !== undefined) {
        initializers.push(init);
        continue;
      }
      const p = facts.producers.get(input);
      if (p === undefined || dead.has(p) || p.outputs.some((o) => o !== '' && (reads.get(o) ?? 0) > 0)) continue;
      dead.add(p);
      deadNodes.push(p);
      queue.push(p);
    }
  }
  return { nodes: deadNodes, initializers };
}

function hasOpsetImport(model: Uint8Array, domain: string): boolean {
  let found = false;
  forEachField(model, 0, model.length, (f) => {
    if (f.no !== MODEL_OPSET_IMPORT || f.wire !== WIRE_LEN) return;
    forEachField(model, f.start, f.end, (g) => {
      if (g.no === OPSET_DOMAIN && g.wire === WIRE_LEN && fieldString(model, g) === domain) found = true;
    });
  });
  return found;
}

/**
 * `model` (a whole ModelProto) with every residual-Add + RMSNorm and every apply_rotary_pos_emb of its main
 * graph fused (those of `kinds`; see the top of this file), and how many of each; `model` itself when
 * nothing matched.
 */
export function withContribFusions(model: Uint8Array, kinds: readonly ContribFusion[]): { bytes: Uint8Array; fusions: ContribFusions } {
  const none = { bytes: model, fusions: { skipNorms: 0, rotaries: 0 } };
  const facts = scanModel(model);
  if ([...facts.names].some((name) => name.startsWith(PREFIX))) return none;
  const m = new Matcher(model, facts);
  const nodes = [...new Set(facts.producers.values())].sort((a, b) => a.node.offset - b.node.offset);
  if (nodes.length === 0) return none;
  const graph = nodes[0].graph;
  const claimed = new Set<ProducerNode>();
  const claim = (group: readonly ProducerNode[]): boolean => {
    if (group.some((n) => claimed.has(n) || n.graph.offset !== graph.offset)) return false;
    for (const n of group) claimed.add(n);
    return true;
  };
  const skips: SkipNorm[] = [];
  const rotaries: Rotary[] = [];
  for (const n of nodes) {
    const skip = kinds.includes('skipNorm') ? m.skipNorm(n) : null;
    if (skip !== null && claim([skip.add, ...skip.norm])) skips.push(skip);
    const rotary = skip === null && kinds.includes('rotary') ? m.rotary(n) : null;
    if (rotary !== null && claim([rotary.add, ...rotary.nodes])) rotaries.push(rotary);
  }
  if (skips.length === 0 && rotaries.length === 0) return none;

  const replaced = new Map<ProducerNode, WireWriter>();
  for (const s of skips) {
    const outputs = s.sumRead ? [s.normed, '', '', s.add.outputs[0]] : [s.normed];
    replaced.set(s.add, new WireWriter().messageField(GRAPH_NODE, node('SkipSimplifiedLayerNormalization', [...s.add.inputs, s.gamma], outputs, [['epsilon', { float: s.epsilon }]], MS_DOMAIN)));
  }
  // Each cos / sin becomes a [rows, dim / 2] table once, right before the first rotary reading it.
  const c = (name: string) => `${PREFIX}/${name}`;
  const position = c('position_zero');
  const tables = new Map<string, string>();
  const splitOutputs = facts.opset !== null && facts.opset >= 18 ? [['num_outputs', 2] as const] : [];
  rotaries.forEach((r, i) => {
    const w = new WireWriter();
    if (i === 0) w.messageField(GRAPH_INITIALIZER, int64Initializer(position, [0]));
    for (const trig of [r.cos, r.sin]) {
      if (tables.has(trig)) continue;
      const table = c(`table/${trig}`);
      w.messageField(GRAPH_NODE, node('Flatten', [trig], c(`rows/${trig}`), [['axis', 3]]));
      w.messageField(GRAPH_NODE, node('Split', [c(`rows/${trig}`)], [table, c(`second_half/${trig}`)], [['axis', 1], ...splitOutputs]));
      tables.set(trig, table);
    }
    w.messageField(GRAPH_NODE, node('RotaryEmbedding', [r.x, position, tables.get(r.cos)!, tables.get(r.sin)!], r.add.outputs[0], [['interleaved', 0]], MS_DOMAIN));
    replaced.set(r.add, w);
  });
  const removed = [...claimed].filter((n) => !replaced.has(n));
  const fusedInputs = [...skips.map((s) => [...s.add.inputs, s.gamma]), ...rotaries.map((r) => [r.x, r.cos, r.sin])].flat();
  const dead = deadAfter(facts, [...replaced.keys(), ...removed], fusedInputs);
  const edits: FieldEdit[] = [
    ...[...claimed, ...dead.nodes].map((n) => ({ span: n.node, replacement: replaced.get(n)?.finish() ?? new Uint8Array(0) })),
    ...dead.initializers.map((span) => ({ span, replacement: new Uint8Array(0) })),
  ].sort((a, b) => a.span.offset - b.span.offset);
  const pieces = spliceFields(model, MODEL_GRAPH, graph, edits);
  if (!hasOpsetImport(model, MS_DOMAIN)) pieces.push(new WireWriter().messageField(MODEL_OPSET_IMPORT, new WireWriter().stringField(OPSET_DOMAIN, MS_DOMAIN).varintField(OPSET_VERSION, 1)).finish());
  return { bytes: Buffer.concat(pieces), fusions: { skipNorms: skips.length, rotaries: rotaries.length } };
}
