// What the load-time graph rewrite needs to know about an ONNX model, read from its bytes in memory
// without decoding weights: opset, graph inputs and outputs, defined names, external data locations, and
// where the node producing `logits` and its declaration sit. Engine host, at model load.
import {
  ATTR_F,
  ATTR_FLOATS,
  ATTR_I,
  ATTR_INTS,
  ATTR_NAME,
  ATTR_T,
  DOUBLE,
  ENTRY_KEY,
  ENTRY_VALUE,
  FLOAT,
  GRAPH_INITIALIZER,
  GRAPH_INPUT,
  GRAPH_NODE,
  GRAPH_OUTPUT,
  INT32,
  INT64,
  MODEL_GRAPH,
  MODEL_OPSET_IMPORT,
  NODE_ATTRIBUTE,
  NODE_DOMAIN,
  NODE_INPUT,
  NODE_OP_TYPE,
  NODE_OUTPUT,
  OPSET_DOMAIN,
  OPSET_VERSION,
  TENSOR_DATA_TYPE,
  TENSOR_DIMS,
  TENSOR_DOUBLE_DATA,
  TENSOR_EXTERNAL_DATA,
  TENSOR_FLOAT_DATA,
  TENSOR_INT32_DATA,
  TENSOR_INT64_DATA,
  TENSOR_NAME,
  TENSOR_RAW_DATA,
  TENSOR_TYPE_ELEM,
  TYPE_TENSOR,
  VALUE_NAME,
  VALUE_TYPE,
} from './onnxFields';
import { fieldInt64, fieldString, forEachField, WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT, type FieldSpan, type WireField } from './protoWire';

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
  /** Initializer name → its TensorProto field (to read small constants: shapes, scalars). */
  readonly initializers: Map<string, FieldSpan>;
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

/** Value name → the main-graph nodes reading it (each node once, however many of its inputs name it). */
export function readerNodes(facts: GraphFacts): Map<string, ProducerNode[]> {
  const readers = new Map<string, ProducerNode[]>();
  for (const n of new Set(facts.producers.values())) {
    for (const input of new Set(n.inputs)) {
      const list = readers.get(input);
      if (list === undefined) readers.set(input, [n]);
      else list.push(n);
    }
  }
  return readers;
}

/** The signed varints of a packed repeated field's payload. */
function packedVarints(buf: Uint8Array, f: WireField): number[] {
  const out: number[] = [];
  let at = f.start;
  while (at < f.end) {
    let v = 0n;
    let shift = 0n;
    let b: number;
    do {
      b = buf[at++];
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b >= 0x80 && at < f.end);
    out.push(Number(BigInt.asIntN(64, v)));
  }
  return out;
}

/** The little-endian float32 (I32 wire) or float64 (I64 wire) a fixed-width field holds. */
function fixedFloat(buf: Uint8Array, f: WireField): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return f.wire === WIRE_I32 ? view.getFloat32(f.end - 4, true) : view.getFloat64(f.end - 8, true);
}

/** The integer-list attribute `name` of node `n`, or null when the node leaves it out. */
export function intsAttribute(model: Uint8Array, n: ProducerNode, name: string): number[] | null {
  let found: number[] | null = null;
  forEachField(model, n.node.start, n.node.end, (f) => {
    if (f.no !== NODE_ATTRIBUTE || f.wire !== WIRE_LEN) return;
    let attr = '';
    const values: number[] = [];
    forEachField(model, f.start, f.end, (a) => {
      if (a.no === ATTR_NAME && a.wire === WIRE_LEN) attr = fieldString(model, a);
      if (a.no === ATTR_INTS && a.wire === WIRE_VARINT) values.push(fieldInt64(model, a));
      if (a.no === ATTR_INTS && a.wire === WIRE_LEN) values.push(...packedVarints(model, a));
    });
    if (attr === name) found = values;
  });
  return found;
}

/** A small constant tensor's dims and values (floats and integers alike as numbers). */
export interface ConstantTensor {
  readonly dims: readonly number[];
  readonly values: readonly number[];
}

/** Constants longer than this are not read: the rewrites only need shapes, axes and scalars. */
const MAX_CONSTANT_VALUES = 64;

/** The dims of the TensorProto at `span` (an initializer field). */
export function tensorDims(buf: Uint8Array, span: FieldSpan): number[] {
  const dims: number[] = [];
  forEachField(buf, span.start, span.end, (t) => {
    if (t.no === TENSOR_DIMS) dims.push(...(t.wire === WIRE_LEN ? packedVarints(buf, t) : [fieldInt64(buf, t)]));
  });
  return dims;
}

/** The TensorProto at payload range [start, end) of `buf`, when it holds at most 64 float or integer values inline. */
function tensorValues(buf: Uint8Array, start: number, end: number): ConstantTensor | null {
  const dims = tensorDims(buf, { offset: start, start, end });
  const values: number[] = [];
  let type = 0;
  const raws: WireField[] = [];
  let external = false;
  forEachField(buf, start, end, (t) => {
    if (t.no === TENSOR_DATA_TYPE && t.wire === WIRE_VARINT) type = t.value;
    else if (t.no === TENSOR_RAW_DATA && t.wire === WIRE_LEN) raws.push(t);
    else if (t.no === TENSOR_EXTERNAL_DATA) external = true;
    else if (t.no === TENSOR_INT32_DATA || t.no === TENSOR_INT64_DATA) values.push(...(t.wire === WIRE_LEN ? packedVarints(buf, t) : [fieldInt64(buf, t)]));
    else if (t.no === TENSOR_FLOAT_DATA || t.no === TENSOR_DOUBLE_DATA) {
      const size = t.no === TENSOR_FLOAT_DATA ? 4 : 8;
      if (t.wire !== WIRE_LEN) values.push(fixedFloat(buf, t));
      else for (let at = t.start; at + size <= t.end; at += size) values.push(fixedFloat(buf, { ...t, wire: size === 4 ? WIRE_I32 : WIRE_I64, end: at + size }));
    }
  });
  if (external) return null;
  const count = dims.reduce((a, b) => a * b, 1);
  if (count > MAX_CONSTANT_VALUES) return null;
  if (raws.length === 1) {
    const r = raws[0];
    const view = new DataView(buf.buffer, buf.byteOffset + r.start, r.end - r.start);
    const size = type === INT64 || type === DOUBLE ? 8 : 4;
    if (view.byteLength !== count * size) return null;
    for (let i = 0; i < count; i++) {
      if (type === FLOAT) values.push(view.getFloat32(i * 4, true));
      else if (type === INT32) values.push(view.getInt32(i * 4, true));
      else if (type === INT64) values.push(Number(view.getBigInt64(i * 8, true)));
      else if (type === DOUBLE) values.push(view.getFloat64(i * 8, true));
      else return null;
    }
  }
  return values.length === count ? { dims, values } : null;
}

/**
 * The value `name` holds when it is a small constant: an initializer (one the model's inputs cannot
 * override, as exporters write them) or a default-domain Constant node's `value`, `value_float(s)` or
 * `value_int(s)`; null otherwise (computed, external, or over 64 values).
 */
export function constantTensor(model: Uint8Array, facts: GraphFacts, name: string): ConstantTensor | null {
  const init = facts.initializers.get(name);
  if (init !== undefined) return facts.inputs.has(name) ? null : tensorValues(model, init.start, init.end);
  const p = facts.producers.get(name);
  if (p === undefined || p.opType !== 'Constant' || (p.domain !== '' && p.domain !== 'ai.onnx')) return null;
  let found: ConstantTensor | null = null;
  forEachField(model, p.node.start, p.node.end, (f) => {
    if (f.no !== NODE_ATTRIBUTE || f.wire !== WIRE_LEN) return;
    let attr = '';
    const scalars: number[] = [];
    const tensors: WireField[] = [];
    forEachField(model, f.start, f.end, (a) => {
      if (a.no === ATTR_NAME && a.wire === WIRE_LEN) attr = fieldString(model, a);
      else if (a.no === ATTR_T && a.wire === WIRE_LEN) tensors.push(a);
      else if (a.no === ATTR_F && a.wire === WIRE_I32) scalars.push(fixedFloat(model, a));
      else if (a.no === ATTR_I && a.wire === WIRE_VARINT) scalars.push(fieldInt64(model, a));
      else if (a.no === ATTR_FLOATS || a.no === ATTR_INTS) scalars.push(...constantList(model, a));
    });
    if (attr === 'value' && tensors.length === 1) found = tensorValues(model, tensors[0].start, tensors[0].end);
    else if (attr === 'value_float' || attr === 'value_int') found = { dims: [], values: scalars };
    else if (attr === 'value_floats' || attr === 'value_ints') found = { dims: [scalars.length], values: scalars };
  });
  return found;
}

/** A repeated float or int attribute field's values (packed or one per field). */
function constantList(buf: Uint8Array, a: WireField): number[] {
  if (a.no === ATTR_INTS) return a.wire === WIRE_LEN ? packedVarints(buf, a) : [fieldInt64(buf, a)];
  if (a.wire !== WIRE_LEN) return [fixedFloat(buf, a)];
  const out: number[] = [];
  for (let at = a.start; at + 4 <= a.end; at += 4) out.push(fixedFloat(buf, { ...a, wire: WIRE_I32, end: at + 4 }));
  return out;
}

function subFields(buf: Uint8Array, f: WireField, visit: (g: WireField) => void): void {
  if (f.wire === WIRE_LEN) forEachField(buf, f.start, f.end, visit);
}

/** Walks `buf` (a whole ModelProto); throws WireError when it is not protobuf. */
export function scanModel(buf: Uint8Array): GraphFacts {
  const facts: GraphFacts = { opset: null, inputs: new Set(), outputs: new Map(), names: new Set(), unsafeExternal: [], logitsNode: null, logitsOutput: null, logitsConsumed: false, producers: new Map(), readers: new Map(), initializers: new Map() };
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
        if (t.no === TENSOR_NAME && t.wire === WIRE_LEN) {
          facts.names.add(fieldString(buf, t));
          facts.initializers.set(fieldString(buf, t), g);
        }
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
