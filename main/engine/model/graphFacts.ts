// What the load-time graph rewrite needs to know about an ONNX model, read from its bytes in memory
// without decoding weights: opset, graph inputs and outputs, defined names, external data locations, and
// where the node producing `logits` and its declaration sit. Engine host, at model load.
import {
  ATTR_I,
  ATTR_NAME,
  ENTRY_KEY,
  ENTRY_VALUE,
  GRAPH_INITIALIZER,
  GRAPH_INPUT,
  GRAPH_NODE,
  GRAPH_OUTPUT,
  MODEL_GRAPH,
  MODEL_OPSET_IMPORT,
  NODE_ATTRIBUTE,
  NODE_DOMAIN,
  NODE_INPUT,
  NODE_OP_TYPE,
  NODE_OUTPUT,
  OPSET_DOMAIN,
  OPSET_VERSION,
  TENSOR_EXTERNAL_DATA,
  TENSOR_NAME,
  TENSOR_TYPE_ELEM,
  TYPE_TENSOR,
  VALUE_NAME,
  VALUE_TYPE,
} from './onnxFields';
import { fieldInt64, fieldString, forEachField, WIRE_LEN, WIRE_VARINT, type FieldSpan, type WireField } from './protoWire';

/** The facts {@link scanModel} collects. */
export interface GraphFacts {
  opset: number | null;
  readonly inputs: Set<string>;
  /** Graph output name → its tensor elem_type (0 when the graph leaves it out). */
  readonly outputs: Map<string, number>;
  /** Every name a node output or initializer defines, to keep added names unique. */
  readonly names: Set<string>;
  /** External data locations that are not plain relative paths inside the model folder. */
  readonly unsafeExternal: string[];
  /** The node that produces `logits`, where it is. */
  logitsNode: ProducerNode | null;
  /** The graph output declaring `logits`, where it is. */
  logitsOutput: { readonly graph: FieldSpan; readonly span: FieldSpan } | null;
  /** Whether a node reads `logits` (then it must keep every position). */
  logitsConsumed: boolean;
  /** Node output name → the node producing it (every node of the main graph). */
  readonly producers: Map<string, ProducerNode>;
  /** Value name → how many node inputs read it (a graph output counts once more). */
  readonly readers: Map<string, number>;
}

/** A node and where it sits: its field inside the graph field `graph`. */
export interface ProducerNode {
  readonly graph: FieldSpan;
  readonly node: FieldSpan;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

/** The integer attribute `name` of node `n` (in `model`), or null when the node leaves it out. */
export function intAttribute(model: Uint8Array, n: ProducerNode, name: string): number | null {
  let found: number | null = null;
  forEachField(model, n.node.start, n.node.end, (f) => {
    if (f.no !== NODE_ATTRIBUTE || f.wire !== WIRE_LEN) return;
    let attr = '';
    let value: number | null = null;
    forEachField(model, f.start, f.end, (a) => {
      if (a.no === ATTR_NAME && a.wire === WIRE_LEN) attr = fieldString(model, a);
      if (a.no === ATTR_I && a.wire === WIRE_VARINT) value = fieldInt64(model, a);
    });
    if (attr === name) found = value;
  });
  return found;
}

function subFields(buf: Uint8Array, f: WireField, visit: (g: WireField) => void): void {
  if (f.wire === WIRE_LEN) forEachField(buf, f.start, f.end, visit);
}

/** Walks `buf` (a whole ModelProto); throws WireError when it is not protobuf. */
export function scanModel(buf: Uint8Array): GraphFacts {
  const facts: GraphFacts = { opset: null, inputs: new Set(), outputs: new Map(), names: new Set(), unsafeExternal: [], logitsNode: null, logitsOutput: null, logitsConsumed: false, producers: new Map(), readers: new Map() };
  forEachField(buf, 0, buf.length, (f) => {
    if (f.no === MODEL_OPSET_IMPORT) {
      let domain = '';
      let version = 0;
      subFields(buf, f, (g) => {
        if (g.no === OPSET_DOMAIN && g.wire === WIRE_LEN) domain = fieldString(buf, g);
        if (g.no === OPSET_VERSION && g.wire === WIRE_VARINT) version = g.value;
      });
      if (domain === '' || domain === 'ai.onnx') facts.opset = version;
    } else if (f.no === MODEL_GRAPH) {
      subFields(buf, f, (g) => scanGraphField(buf, f, g, facts));
    }
  });
  return facts;
}

function scanGraphField(buf: Uint8Array, graph: WireField, g: WireField, facts: GraphFacts): void {
  switch (g.no) {
    case GRAPH_NODE: {
      const inputs: string[] = [];
      const outputs: string[] = [];
      let opType = '';
      let domain = '';
      subFields(buf, g, (n) => {
        if (n.wire !== WIRE_LEN) return;
        if (n.no === NODE_INPUT) inputs.push(fieldString(buf, n));
        else if (n.no === NODE_OUTPUT) outputs.push(fieldString(buf, n));
        else if (n.no === NODE_OP_TYPE) opType = fieldString(buf, n);
        else if (n.no === NODE_DOMAIN) domain = fieldString(buf, n);
      });
      const producer = { graph, node: g, opType, domain, inputs, outputs };
      for (const name of outputs) {
        facts.names.add(name);
        facts.producers.set(name, producer);
      }
      for (const name of inputs) facts.readers.set(name, (facts.readers.get(name) ?? 0) + 1);
      if (outputs.includes('logits')) facts.logitsNode = producer;
      if (inputs.includes('logits')) facts.logitsConsumed = true;
      break;
    }
    case GRAPH_INPUT:
    case GRAPH_OUTPUT: {
      let name = '';
      let elemType = 0;
      subFields(buf, g, (v) => {
        if (v.no === VALUE_NAME && v.wire === WIRE_LEN) name = fieldString(buf, v);
        if (v.no === VALUE_TYPE) {
          subFields(buf, v, (t) => {
            if (t.no === TYPE_TENSOR) {
              subFields(buf, t, (e) => {
                if (e.no === TENSOR_TYPE_ELEM && e.wire === WIRE_VARINT) elemType = e.value;
              });
            }
          });
        }
      });
      if (g.no === GRAPH_INPUT) facts.inputs.add(name);
      else {
        facts.outputs.set(name, elemType);
        facts.readers.set(name, (facts.readers.get(name) ?? 0) + 1);
      }
      if (g.no === GRAPH_OUTPUT && name === 'logits') facts.logitsOutput = { graph, span: g };
      facts.names.add(name);
      break;
    }
    case GRAPH_INITIALIZER:
      subFields(buf, g, (t) => {
        if (t.no === TENSOR_NAME && t.wire === WIRE_LEN) facts.names.add(fieldString(buf, t));
        if (t.no === TENSOR_EXTERNAL_DATA) {
          let key = '';
          let value = '';
          subFields(buf, t, (e) => {
            if (e.no === ENTRY_KEY && e.wire === WIRE_LEN) key = fieldString(buf, e);
            if (e.no === ENTRY_VALUE && e.wire === WIRE_LEN) value = fieldString(buf, e);
          });
          if (key === 'location' && !isPlainRelativePath(value)) facts.unsafeExternal.push(value);
        }
      });
      break;
  }
}

/** A location onnxruntime would resolve inside the model's folder: relative, no `..`, no drive or root. */
function isPlainRelativePath(location: string): boolean {
  if (location === '' || location.startsWith('/') || location.startsWith('\\') || /^[A-Za-z]:/.test(location)) return false;
  return !location.split(/[\\/]/).includes('..');
}
