// Errors a user can meet when Ouro opens a model: one class, one discriminating code per problem.
// Runs in the engine host (and wherever a model folder is inspected); plain data, no onnxruntime.

/**
 * Why a model folder or ONNX file cannot be used. The UI may branch on the code (e.g. offer another
 * variant on `unsupported-kv-dtype`); the message is written for a person and names the file.
 */
export type ModelErrorCode =
  /** The folder, a required JSON file or the chosen .onnx file does not exist. */
  | 'missing-file'
  /** A JSON file does not parse. */
  | 'invalid-json'
  /** config.json lacks a required field or holds an impossible value. */
  | 'invalid-config'
  /** tokenizer.json or tokenizer_config.json parses but no tokenizer can be built from it. */
  | 'invalid-tokenizer'
  /** The .onnx file is empty, truncated or not an ONNX protobuf. */
  | 'corrupt-onnx'
  /** A weights file the graph references (e.g. model.onnx_data) is missing or too short. */
  | 'missing-external-data'
  /** The folder has no onnx/*.onnx file at all. */
  | 'no-onnx-file'
  /** The requested variant (e.g. `model_q4`) is not in the folder. */
  | 'variant-not-found'
  /** The graph derives positions itself, so the sink cache cannot place tokens. */
  | 'no-position-ids'
  /** The graph has no past_key_values inputs / present outputs. */
  | 'no-kv-cache'
  /** The graph has no logits output. */
  | 'no-logits'
  /** The logits output is not float32. */
  | 'unsupported-logits-dtype'
  /** The architecture uses learned or ALiBi positions, not RoPE. */
  | 'learned-positions'
  /** KV cache tensors are not float32. */
  | 'unsupported-kv-dtype'
  /** KV cache tensors are not laid out as [batch, kv_heads, past, head_dim]. */
  | 'unsupported-kv-layout'
  /** input_ids / attention_mask / position_ids have an unexpected dtype or rank. */
  | 'unsupported-input'
  /** The graph has an input Ouro does not know how to feed. */
  | 'unknown-input'
  /** The number of past/present layers differs from config.json. */
  | 'layer-mismatch'
  /** KV head count or head dim in the graph differs from config.json. */
  | 'head-mismatch'
  /** Not a decoder-only model Ouro can drive (encoder-decoder, state-space, ...). */
  | 'unsupported-architecture'
  /** rope_scaling type Ouro cannot re-rotate keys for. */
  | 'unsupported-rope-scaling'
  /** onnxruntime refused the model for another reason (unsupported operator, opset, ...). */
  | 'session-failed'
  /** onnxruntime failed while running the model. */
  | 'run-failed';

/** An error about a model the user picked; `file` is relative to the model folder where known. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  readonly code: ModelErrorCode;
  /** The file the problem is in (relative to the model folder when possible), or null for the folder. */
  readonly file: string | null;

  constructor(code: ModelErrorCode, file: string | null, message: string, options?: { cause?: unknown }) {
    // Messages are written as "<file>: <problem>"; one that already opens or ends with the file
    // ("model folder lacks tokenizer.json") is kept as written.
    const named = file === null || message.startsWith(file) || message.endsWith(file);
    super(named ? message : `${file}: ${message}`, options);
    this.code = code;
    this.file = file;
  }
}

/** True when `e` is a ModelError, optionally with the given code. */
export function isModelError(e: unknown, code?: ModelErrorCode): e is ModelError {
  return e instanceof ModelError && (code === undefined || e.code === code);
}
