// A model with a decoder session's interface that computes nothing: it takes every input the session takes
// and returns the outputs a host decode step fetches (each layer's new K/V rows and the last logits) as
// zeros of the shape a pass of n tokens gets. The load's warm-up runs the engine's per-step JavaScript
// through it (the runner's step, the cache's commit, onnxruntime-node's binding) until V8 has optimized
// that code, at no model compute (bench/README section 20). Engine host, at load.
import { GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_NODE, GRAPH_OUTPUT, MODEL_GRAPH, MODEL_OPSET_IMPORT, OPSET_DOMAIN, OPSET_VERSION } from './onnxFields';
import { int64Initializer, node, outputInfo } from './graphNodes';
import { WireWriter } from './protoWire';

const MODEL_IR_VERSION = 1;
/** TensorProto.DataType.FLOAT / FLOAT16. */
const FLOAT = 1;
const FLOAT16 = 10;
const PREFIX = 'ouro_standin';

/** A graph input or output: its name and TensorProto element type. */
export interface StandInValue {
  readonly name: string;
  readonly elemType: number;
}

export interface StandInSpec {
  /** Every input of the session, the engine's added ones too: a run feeds them all. */
  readonly inputs: readonly StandInValue[];
  /** The token ids input, [1, n]: n sizes the rows. */
  readonly tokens: string;
  /** Outputs of [1, kvHeads, n, headDim] zeros. */
  readonly rows: readonly StandInValue[];
  /** The output of [1, 1, vocab] zeros. */
  readonly logits: StandInValue;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocab: number;
}

export function standInModel(spec: StandInSpec): Uint8Array {
  for (const v of [...spec.rows, spec.logits]) {
    if (v.elemType !== FLOAT && v.elemType !== FLOAT16) throw new TypeError(`stand-in output "${v.name}" must be float32 or float16, got element type ${v.elemType}`);
  }
  const c = (name: string) => `${PREFIX}/${name}`;
  const g = new WireWriter().stringField(2, PREFIX);
  g.messageField(GRAPH_INITIALIZER, int64Initializer(c('heads'), [1, spec.kvHeads]));
  g.messageField(GRAPH_INITIALIZER, int64Initializer(c('dim'), [spec.headDim]));
  g.messageField(GRAPH_INITIALIZER, int64Initializer(c('logits_shape'), [1, 1, spec.vocab]));
  g.messageField(GRAPH_NODE, node('Shape', [spec.tokens], c('n'), [['start', 1]]));
  g.messageField(GRAPH_NODE, node('Concat', [c('heads'), c('n'), c('dim')], c('rows_shape'), [['axis', 0]]));
  // ConstantOfShape without a value makes float32 zeros; a float16 output gets them cast.
  const zeros = (shape: string, v: StandInValue, i: number) => {
    if (v.elemType === FLOAT) return node('ConstantOfShape', [shape], v.name);
    g.messageField(GRAPH_NODE, node('ConstantOfShape', [shape], c(`zeros${i}`)));
    return node('Cast', [c(`zeros${i}`)], v.name, [['to', FLOAT16]]);
  };
  spec.rows.forEach((v, i) => g.messageField(GRAPH_NODE, zeros(c('rows_shape'), v, i)));
  g.messageField(GRAPH_NODE, zeros(c('logits_shape'), spec.logits, spec.rows.length));
  for (const v of spec.inputs) g.messageField(GRAPH_INPUT, outputInfo(v.name, v.elemType));
  for (const v of [...spec.rows, spec.logits]) g.messageField(GRAPH_OUTPUT, outputInfo(v.name, v.elemType));
  return new WireWriter()
    .varintField(MODEL_IR_VERSION, 8)
    .messageField(MODEL_OPSET_IMPORT, new WireWriter().stringField(OPSET_DOMAIN, '').varintField(OPSET_VERSION, 17))
    .messageField(MODEL_GRAPH, g)
    .finish();
}
