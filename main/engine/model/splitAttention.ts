// Load-time graph rewrite for the host decode path (DESIGN §3, issue 14): each layer attends to the past
// and to the step's new rows in two parts — scores [Q·Kpastᵀ | Q·Knewᵀ], the model's own mask and Softmax
// over both, then P_past·V_past + P_new·V_new — so a step no longer builds `Concat(past, new)`, a copy of
// the whole cache per layer per step (onnxruntime runs every node whether its output is fetched or not).
// The presents are then computed only when a run asks for them (an If on an added bool input): the model's
// interface stays as exported. Engine host, at model load; composed into the fast-outputs rewrite.
//
// Per layer the rewrite needs `present = Concat(past, rows)` on the sequence axis and, between the present
// and its attention MatMul, only nodes that read nothing else of the cache (Unsqueeze, Transpose, repeat_kv's
// Expand and Reshape with their Shape arithmetic): those are cloned once for the past and once for the rows.
// A chunk's queries see what they saw before (the mask is the model's, over the same [past | rows] keys);
// only P·V's float sum is split in two, a rounding apart.
import { intAttribute, readerNodes, type GraphFacts, type ProducerNode } from './graphFacts';
import { int64Initializer, node, outputInfo, renamedNode, type GraphRewrite } from './graphNodes';
import { BOOL, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_NAME, GRAPH_NODE, GRAPH_OUTPUT } from './onnxFields';
import { WireWriter } from './protoWire';

/** What a split graph adds to the model's interface. */
export interface SplitAttention {
  /**
   * bool scalar input: true, every `present.N.*` holds past + new rows as exported; false (what a run that
   * fetches no present feeds), they hold only the step's new rows and no step copies the cache.
   */
  readonly wholePresents: string;
  readonly presents: readonly string[];
}

/** The graph edits of the rewrite and what it made. */
export interface SplitAttentionPlan extends GraphRewrite {
  readonly split: SplitAttention;
}

const PREFIX = 'ouro_split';
const PRESENT = /^(?:present|present_key_values)\.(\d+)\.(key|value)$/;
const SUBGRAPH_OPS = new Set(['If', 'Loop', 'Scan']);
/** Nodes between a present and its attention MatMul (repeat_kv with its shape arithmetic is about ten). */
const MAX_CONE = 24;
const isDefaultDomain = (n: ProducerNode) => n.domain === '' || n.domain === 'ai.onnx';

/** One present's attention: its Concat, the nodes between it and its MatMul, and that MatMul. */
interface LayerPart {
  readonly present: string;
  readonly kind: 'key' | 'value';
  readonly concat: ProducerNode;
  readonly cone: readonly ProducerNode[];
  readonly matmul: ProducerNode;
}

/**
 * The part of `present`'s attention the rewrite replaces, or why it does not fit: every node reading the
 * present (transitively) up to a default-domain MatMul that reads it as its second input, none of them
 * feeding anything else.
 */
function layerPart(model: Uint8Array, facts: GraphFacts, readers: ReadonlyMap<string, readonly ProducerNode[]>, present: string, kind: 'key' | 'value'): LayerPart | string {
  const concat = facts.producers.get(present);
  if (concat === undefined || concat.opType !== 'Concat' || !isDefaultDomain(concat) || concat.inputs.length !== 2) return `${present} is not a Concat of the past and the new rows`;
  const axis = intAttribute(model, concat, 'axis');
  if (axis !== 2 && axis !== -2) return `${present} is concatenated on axis ${axis}, not the sequence axis`;
  if (!facts.inputs.has(concat.inputs[0])) return `${present} does not start with a past input`;
  const values = new Set([present]);
  const cone: ProducerNode[] = [];
  let matmul: ProducerNode | null = null;
  const queue = [present];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const r of readers.get(v) ?? []) {
      if (r === matmul || cone.includes(r)) continue;
      if (r.opType === 'MatMul' && isDefaultDomain(r) && values.has(r.inputs[1]) && !values.has(r.inputs[0])) {
        if (matmul !== null) return `${present} reaches two attention MatMuls`;
        matmul = r;
        continue;
      }
      if (!isDefaultDomain(r) || r.opType === 'MatMul' || SUBGRAPH_OPS.has(r.opType)) return `${present} reaches a ${r.opType} before its attention MatMul`;
      if (cone.length === MAX_CONE) return `${present} passes more than ${MAX_CONE} nodes before its attention MatMul`;
      cone.push(r);
      for (const o of r.outputs) {
        if (facts.outputs.has(o)) return `${present} reaches the graph output ${o}`;
        values.add(o);
        queue.push(o);
      }
    }
  }
  if (matmul === null) return `no attention MatMul reads ${present}`;
  return { present, kind, concat, cone, matmul };
}

/**
 * Plans the rewrite of a decoder graph (facts `facts` of the file in `model`), or says why it does not
 * fit; it must fit every layer or none is rewritten.
 */
export function planSplitAttention(model: Uint8Array, facts: GraphFacts): SplitAttentionPlan | { readonly reason: string } {
  if ([...facts.names].some((name) => name.startsWith(PREFIX))) return { reason: `the graph already uses names starting with ${PREFIX}` };
  const presents = [...facts.outputs.keys()].filter((name) => PRESENT.test(name));
  if (presents.length === 0) return { reason: 'no present outputs' };
  const nodes = new Set(facts.producers.values());
  const nested = [...nodes].find((n) => SUBGRAPH_OPS.has(n.opType));
  if (nested !== undefined) return { reason: `the graph has a ${nested.opType} node (subgraphs are not rewritten)` };
  const readers = readerNodes(facts);

  const parts: LayerPart[] = [];
  for (const present of presents) {
    const part = layerPart(model, facts, readers, present, PRESENT.exec(present)![2] as 'key' | 'value');
    if (typeof part === 'string') return { reason: part };
    if (facts.outputs.get(present) === 0) return { reason: `${present} has no declared element type` };
    parts.push(part);
  }

  const g = new WireWriter();
  const c = (name: string) => `${PREFIX}/${name}`;
  g.messageField(GRAPH_INITIALIZER, int64Initializer(c('zero'), [0]));
  g.messageField(GRAPH_INITIALIZER, int64Initializer(c('two'), [2]));
  g.messageField(GRAPH_INITIALIZER, int64Initializer(c('three'), [3]));
  g.messageField(GRAPH_INITIALIZER, int64Initializer(c('minus_one'), [-1]));
  g.messageField(GRAPH_INITIALIZER, int64Initializer(c('end'), [2 ** 62]));
  // Every past is fed with one length (the mask's): the weights' split point.
  g.messageField(GRAPH_NODE, node('Shape', [parts[0].concat.inputs[0]], c('past_shape')));
  g.messageField(GRAPH_NODE, node('Slice', [c('past_shape'), c('two'), c('three')], c('past_length')));

  const remove = new Set<ProducerNode>();
  for (const { present, kind, concat, cone, matmul } of parts) {
    const side = (tag: 'past' | 'rows'): string => {
      const source = tag === 'past' ? concat.inputs[0] : concat.inputs[1];
      const renames = new Map([[present, source]]);
      for (const n of cone) for (const o of n.outputs) renames.set(o, c(`${tag}/${o}`));
      for (const n of cone) g.messageField(GRAPH_NODE, renamedNode(model, n.node, renames, `/${PREFIX}_${tag}`));
      return renames.get(matmul.inputs[1])!;
    };
    const [past, rows] = [side('past'), side('rows')];
    const [a, out] = [matmul.inputs[0], matmul.outputs[0]];
    if (kind === 'key') {
      g.messageField(GRAPH_NODE, node('MatMul', [a, past], c(`past/${out}`)));
      g.messageField(GRAPH_NODE, node('MatMul', [a, rows], c(`rows/${out}`)));
      g.messageField(GRAPH_NODE, node('Concat', [c(`past/${out}`), c(`rows/${out}`)], out, [['axis', -1]]));
    } else {
      g.messageField(GRAPH_NODE, node('Slice', [a, c('zero'), c('past_length'), c('minus_one')], c(`past/${a}`)));
      g.messageField(GRAPH_NODE, node('Slice', [a, c('past_length'), c('end'), c('minus_one')], c(`rows/${a}`)));
      g.messageField(GRAPH_NODE, node('MatMul', [c(`past/${a}`), past], c(`past/${out}`)));
      g.messageField(GRAPH_NODE, node('MatMul', [c(`rows/${a}`), rows], c(`rows/${out}`)));
      g.messageField(GRAPH_NODE, node('Add', [c(`past/${out}`), c(`rows/${out}`)], out));
    }
    for (const n of [concat, ...cone, matmul]) remove.add(n);
  }

  // The presents behind an If: whole (the model's own Concat) when asked for, else the new rows alone
  // (what the fast outputs' new-rows slices then take whole).
  const wholePresents = `${PREFIX}.whole_presents`;
  const whole = new WireWriter().stringField(GRAPH_NAME, c('whole'));
  const rowsOnly = new WireWriter().stringField(GRAPH_NAME, c('rows'));
  for (const { present, concat } of parts) {
    const type = facts.outputs.get(present)!;
    whole.messageField(GRAPH_NODE, renamedNode(model, concat.node, new Map([[present, c(`whole/${present}`)]]), `/${PREFIX}_whole`));
    whole.messageField(GRAPH_OUTPUT, outputInfo(c(`whole/${present}`), type));
    rowsOnly.messageField(GRAPH_NODE, node('Identity', [concat.inputs[1]], c(`rows/${present}`)));
    rowsOnly.messageField(GRAPH_OUTPUT, outputInfo(c(`rows/${present}`), type));
  }
  g.messageField(GRAPH_INPUT, outputInfo(wholePresents, BOOL));
  g.messageField(GRAPH_NODE, node('If', [wholePresents], parts.map((p) => p.present), [['then_branch', whole], ['else_branch', rowsOnly]]));

  const edits = [...remove].map((n) => ({ span: n.node, replacement: new Uint8Array(0) })).sort((x, y) => x.span.offset - y.span.offset);
  return { graph: parts[0].concat.graph, edits, suffixGraph: g, split: { wholePresents, presents: parts.map((p) => p.present) } };
}
