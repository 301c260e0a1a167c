// The session seam: the only importer of onnxruntime-node. Opens a model on an execution provider
// (falling back to cpu with the reason), with the fast outputs added when the graph allows, runs it,
// and turns ORT failures into ModelErrors.
// Runs in the engine host (a worker / utility process): onnxruntime-node's load and run block the thread.

// First: the environment onnxruntime reads must be set before it is loaded.
import './ortTelemetryOff';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { acceleratorFacts, planAuto, type AcceleratorFacts } from './autoProvider';
import { ModelError } from './errors';
import { readWithFastOutputs, type FastOutputs, type FastOutputsOptions } from './model/fastOutputs';
import { PAST_LAST_ROW } from './model/attentionOutputs';
import { identityModel, type DeviceCacheGraph, type DeviceCacheSpec } from './model/deviceCache';
import { Q4_COMPUTE_LEVEL, type AccuracyLevel } from './model/matMulNBitsAccuracy';
import { DEFAULT_CONTRIB_FUSIONS, type ContribFusion, type ContribFusions } from './model/contribFusion';

import { PROVIDER_LABELS, PROVIDER_NAMES, type ProviderAvailability, type ProviderChoice, type ProviderName } from '../../common/providers';
import type { Q4Compute } from '../../common/settingsSchema';

export type { FastOutputs } from './model/fastOutputs';
export type { DeviceCacheGraph, DeviceCacheSpec } from './model/deviceCache';

/** A tensor as the engine holds it: a typed array over which the session builds its input without copying. */
export type TensorData = Readonly<{
  type: 'float32' | 'float16' | 'int64' | 'int32' | 'bool';
  data: Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;
  dims: readonly number[];
}>;

/**
 * A tensor that stays in the provider's memory (a WebGPU buffer): fetched from one run and fed to the
 * next without visiting the host. Owned by whoever holds it: `dispose` frees the device memory.
 */
export interface DeviceTensor {
  readonly location: 'device';
  readonly type: 'float32' | 'float16';
  readonly dims: readonly number[];
  dispose(): void;
}

/** A graph input or output: element type (`float32`, ..., or `non-tensor`) and shape, symbolic dims as strings. */
export interface ValueInfo {
  readonly name: string;
  readonly type: string;
  /** Null for non-tensor values; `[]` for scalars or when the graph leaves the shape unknown. */
  readonly shape: readonly (number | string)[] | null;
}

/** An open model. Owns the native session until `release`. */
export interface DecoderSession {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** The provider the session actually runs on. */
  readonly provider: ProviderName;
  /** Why the requested provider was not used, or null when it was. */
  readonly fallbackReason: string | null;
  /** For `auto`: which provider it chose and why (e.g. "auto: CPU (WebGPU: no GPU device ...)"); else null. */
  readonly providerNote: string | null;
  /**
   * Outputs added at load that carry only a step's new K/V rows and last logits (model/fastOutputs), or
   * null when the graph was opened as it is; `fastOutputsNote` then says why. When `lmHeadSliced`, the
   * model's own `logits` holds only the last position of a step.
   */
  readonly fastOutputs: FastOutputs | null;
  readonly fastOutputsNote: string | null;
  /**
   * The device-cache rewrite's inputs and outputs (model/deviceCache) when the session runs on a GPU
   * provider whose outputs can stay on the device (WebGPU) and the graph allows it, else null;
   * `deviceCacheNote` then says why (null when not asked for).
   */
  readonly deviceCache: DeviceCacheGraph | null;
  readonly deviceCacheNote: string | null;
  /** The `accuracy_level` written into the graph's MatMulNBits nodes at load; null when none was written. */
  readonly matMulNBitsAccuracy: AccuracyLevel | null;
  /** The norms and rotary embeddings fused into contrib ops at load (model/contribFusion); null when not tried. */
  readonly contribFusions: ContribFusions | null;
  /**
   * Runs the graph and returns only `fetches`. Inputs are passed to onnxruntime-node by reference (its
   * binding wraps the typed array's memory, no copy); every fetched output is copied by the binding into a
   * fresh JS buffer, so fetch only what is needed (DESIGN §8). Blocks the thread for the run.
   */
  run(feeds: Readonly<Record<string, TensorData>>, fetches: readonly string[]): Promise<Record<string, TensorData>>;
  /**
   * {@link run} with device tensors among the feeds, and `deviceFetches` (outputs of {@link deviceCache})
   * returned as device tensors that the caller owns.
   */
  runOnDevice(
    feeds: Readonly<Record<string, TensorData | DeviceTensor>>,
    fetches: readonly string[],
    deviceFetches: readonly string[],
  ): Promise<{ host: Record<string, TensorData>; device: Record<string, DeviceTensor> }>;
  /** Copies a device tensor to the host (the tensor stays valid). */
  download(tensor: DeviceTensor): Promise<TensorData>;
  release(): Promise<void>;
}

/** How to open a session. */
export interface SessionOptions {
  /** Requested execution provider, or `auto`; default cpu. */
  provider?: ProviderChoice;
  /** What `auto` knows of the machine; default: this one's (tests pass others). */
  accelerators?: AcceleratorFacts;
  /** intraOpNumThreads; default: onnxruntime's choice (one per physical core). */
  intraOpThreads?: number;
  /** Add the new-rows / last-logits outputs and narrow the LM head when the graph allows (default true). */
  fastOutputs?: boolean;
  /** With the fast outputs, also the attention view's (default true; false: benchmarks' baseline). */
  attentionOutputs?: boolean;
  /** With the fast outputs, attention split so no step copies the cache (default true; false: benchmarks' baseline). */
  splitAttention?: boolean;
  /**
   * The model's KV geometry and RoPE: on WebGPU (with fast outputs) the graph then gets the device-cache
   * rewrite, so the KV cache can stay in GPU memory (DESIGN §3). Absent: no rewrite.
   */
  deviceCache?: DeviceCacheSpec;
  /**
   * Apply the device-cache rewrite on providers whose outputs stay in host memory too (CPU): the device
   * path then runs with host tensors as its "device" tensors (tests run it on every machine this way).
   */
  deviceCacheOnHost?: boolean;
  /**
   * onnxruntime session config entries (e.g. `session.intra_op.allow_spinning: '0'`) and the CPU memory
   * arena switch, on top of the engine's own choices: how the benchmarks measure session-option levers.
   */
  tuning?: SessionTuning;
  /** How 4-bit MatMulNBits weights multiply on CPU (default int8, see Q4_COMPUTE_LEVEL); other providers keep the graph's level. */
  q4Compute?: Q4Compute;
}

/** Session options a benchmark may vary; the engine's defaults apply to whatever is left out. */
export interface SessionTuning {
  readonly config?: Readonly<Record<string, string>>;
  readonly memArena?: boolean;
  /** onnxruntime's memory-pattern planning (enableMemPattern); default off on CPU, on elsewhere. */
  readonly memPattern?: boolean;
  /** MatMulNBits `accuracy_level` written at load with the fast outputs, on any provider; overrides `q4Compute`. */
  readonly matMulNBitsAccuracy?: AccuracyLevel;
  /**
   * onnxruntime's per-node profile: written as `<prefix>_<date>.json` when the session is released
   * (bench/profileStep.ts; the split-attention test reads which nodes ran).
   */
  readonly profileFilePrefix?: string;
  /** Where onnxruntime writes the graph as it optimized it (which fusions it made): tests and benchmarks. */
  readonly optimizedModelFilePath?: string;
  /** Which contrib-op fusions a CPU or WebGPU session gets (model/contribFusion); default DEFAULT_CONTRIB_FUSIONS. [] : benchmarks' baseline. */
  readonly contribFusions?: readonly ContribFusion[];
}

// The CUDA provider is not in the npm package: onnxruntime-node's install script fetches it (Linux x64)
// next to the binding. Its absence is the common case, so check the file instead of letting ORT fail.
function cudaLibraryPresent(): boolean {
  try {
    const req = createRequire(import.meta.url);
    const bindingDir = join(dirname(req.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(join(bindingDir, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

/** Which providers this onnxruntime-node build offers on this platform (not whether a device works). */
export function availableProviders(): ProviderAvailability[] {
  const listed = new Map(ort.listSupportedBackends().map((b) => [b.name, b.bundled]));
  return PROVIDER_NAMES.map((name) => {
    if (name === 'cpu') return { name, available: true };
    if (!listed.has(name)) {
      return { name, available: false, reason: `${name} is not part of onnxruntime-node on ${process.platform}-${process.arch}` };
    }
    if (listed.get(name) === true) return { name, available: true };
    if (name === 'cuda' && cudaLibraryPresent()) return { name, available: true };
    return {
      name,
      available: false,
      reason: `${name} is not bundled with this onnxruntime-node build (install its add-on, e.g. the CUDA 12 provider)`,
    };
  });
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Maps an onnxruntime load failure to the user-facing error for `modelPath`. */
function loadError(modelPath: string, e: unknown): ModelError {
  const msg = describe(e);
  const file = basename(modelPath);
  // onnxruntime 1.30: "External data path validation failed ... does not exist: "<path>"" for a missing
  // file, "External initializer: <name> ... out of bounds or can not be read in full" for a short one.
  if (/escapes model directory/i.test(msg)) {
    return new ModelError('corrupt-onnx', file, 'keeps weights outside its own folder; onnxruntime refuses such paths', { cause: e });
  }
  if (/External data path/i.test(msg)) {
    const where = /"([^"]+)"/.exec(msg)?.[1];
    return new ModelError(
      'missing-external-data',
      file,
      `its weights file${where !== undefined ? ` ${basename(where)}` : ''} is missing; download it into the same folder`,
      { cause: e },
    );
  }
  if (/External initializer:.*(out of bounds|can not be read)/i.test(msg)) {
    return new ModelError('missing-external-data', file, 'its external weights file is truncated; download it again', { cause: e });
  }
  if (/File doesn't exist|No such file/i.test(msg)) {
    return new ModelError('missing-file', file, 'does not exist', { cause: e });
  }
  // An empty file: "ModelProto does not have a graph" (1.30), "No graph was found in the protobuf" (1.31).
  if (/Protobuf parsing failed|does not have a graph|no graph was found|ModelProto/i.test(msg)) {
    return new ModelError('corrupt-onnx', file, 'is not a valid ONNX model (truncated or corrupt); download it again', { cause: e });
  }
  return new ModelError('session-failed', file, `onnxruntime cannot load it: ${msg.split('\n')[0]}`, { cause: e });
}

function toOrtTensor(name: string, t: TensorData): ort.Tensor {
  // The typed arrays are used as they are; ort.Tensor keeps the reference and the binding wraps its memory.
  switch (t.type) {
    case 'float32':
      if (!(t.data instanceof Float32Array)) break;
      return new ort.Tensor('float32', t.data, t.dims);
    case 'float16':
      if (!(t.data instanceof Uint16Array)) break;
      return new ort.Tensor('float16', t.data, t.dims);
    case 'int64':
      if (!(t.data instanceof BigInt64Array)) break;
      return new ort.Tensor('int64', t.data, t.dims);
    case 'int32':
      if (!(t.data instanceof Int32Array)) break;
      return new ort.Tensor('int32', t.data, t.dims);
    case 'bool':
      if (!(t.data instanceof Uint8Array)) break;
      return new ort.Tensor('bool', t.data, t.dims);
  }
  throw new TypeError(`input "${name}": ${t.type} tensor with a ${t.data.constructor.name}`);
}

function fromOrtTensor(name: string, value: ort.OnnxValue): TensorData {
  const t = value as ort.Tensor;
  const dims = t.dims;
  const d = t.data;
  switch (t.type) {
    case 'float32':
      if (d instanceof Float32Array) return { type: 'float32', data: d, dims };
      break;
    case 'float16':
      // Without Float16Array (Node 20) the binding hands back the raw Uint16Array; with it, a Float16Array view.
      if (ArrayBuffer.isView(d)) return { type: 'float16', data: new Uint16Array(d.buffer, d.byteOffset, d.byteLength / 2), dims };
      break;
    case 'int64':
      if (d instanceof BigInt64Array) return { type: 'int64', data: d, dims };
      break;
    case 'int32':
      if (d instanceof Int32Array) return { type: 'int32', data: d, dims };
      break;
    case 'bool':
      if (d instanceof Uint8Array) return { type: 'bool', data: d, dims };
      break;
  }
  throw new TypeError(`output "${name}" has type ${t.type}, which the engine does not read`);
}

function valueInfos(meta: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: null }));
}

/** A WebGPU output kept on the device, as the engine holds it. */
class OrtDeviceTensor implements DeviceTensor {
  readonly location = 'device';
  constructor(
    readonly tensor: ort.Tensor,
    readonly type: 'float32' | 'float16',
  ) {}

  get dims(): readonly number[] {
    return this.tensor.dims;
  }

  dispose(): void {
    this.tensor.dispose();
  }
}

const TRUE = new ort.Tensor('bool', Uint8Array.of(1), []);
const FALSE = new ort.Tensor('bool', Uint8Array.of(0), []);
const LAST_ROW = new ort.Tensor('int64', BigInt64Array.of(-1n), [1]);
const NO_ROW = new ort.Tensor('int64', BigInt64Array.of(BigInt(PAST_LAST_ROW)), [1]);

class OrtDecoderSession implements DecoderSession {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  private released = false;
  /** The device-cache inputs as empty tensors: what a run that leaves them out computes with (no slot written, no sink moved). */
  private readonly emptyDeviceFeeds: Readonly<Record<string, ort.Tensor>>;
  /** Per dtype, the Identity session that downloads device tensors (created on first use). */
  private readonly downloaders = new Map<string, Promise<ort.InferenceSession>>();
  /** A split graph's presents (whole only in a run that fetches one of them: model/splitAttention). */
  private readonly splitPresents: ReadonlySet<string>;
  /** The attention view's outputs (computed only in a run that fetches one of them: model/attentionOutputs). */
  private readonly attentionOutputs: ReadonlySet<string>;
  private readonly hostTensors = new WeakMap<TensorData, ort.Tensor>();

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly file: string,
    readonly provider: ProviderName,
    readonly fallbackReason: string | null,
    readonly providerNote: string | null,
    readonly fastOutputs: FastOutputs | null,
    readonly fastOutputsNote: string | null,
    readonly deviceCache: DeviceCacheGraph | null = null,
    readonly deviceCacheNote: string | null = null,
    kv: { readonly kvHeads: number; readonly headDim: number } | null = null,
    /** Whether outputs are bound to the device (preferredOutputLocation): then every run fetches all of them. */
    private readonly outputsBound = false,
    readonly matMulNBitsAccuracy: AccuracyLevel | null = null,
    readonly contribFusions: ContribFusions | null = null,
  ) {
    // The added inputs and outputs are the engine's, not the model's: the model's interface stays as exported.
    const addedIn = new Set(deviceCache ? [deviceCache.slotIndex, deviceCache.sinkCos, deviceCache.sinkSin, deviceCache.pinCos, deviceCache.pinSin] : []);
    if (fastOutputs?.split) addedIn.add(fastOutputs.split.wholePresents);
    if (fastOutputs?.attention) for (const name of [fastOutputs.attention.on, fastOutputs.attention.rowStart]) addedIn.add(name);
    this.splitPresents = new Set(fastOutputs?.split?.presents ?? []);
    this.attentionOutputs = new Set(fastOutputs?.attention ? [fastOutputs.attention.layers, fastOutputs.attention.mean] : []);
    this.inputs = valueInfos(session.inputMetadata).filter((i) => !addedIn.has(i.name));
    const added = new Set([...(fastOutputs?.added ?? []), ...(deviceCache?.added ?? [])]);
    this.outputs = valueInfos(session.outputMetadata).filter((o) => !added.has(o.name));
    this.emptyDeviceFeeds =
      deviceCache && kv
        ? {
            [deviceCache.slotIndex]: new ort.Tensor('int64', new BigInt64Array(0), [1, kv.kvHeads, 0, 3]),
            [deviceCache.sinkCos]: new ort.Tensor('float32', new Float32Array(0), [1, 1, 0, kv.headDim]),
            [deviceCache.sinkSin]: new ort.Tensor('float32', new Float32Array(0), [1, 1, 0, kv.headDim]),
            [deviceCache.pinCos]: new ort.Tensor('float32', new Float32Array(0), [1, 1, 0, kv.headDim]),
            [deviceCache.pinSin]: new ort.Tensor('float32', new Float32Array(0), [1, 1, 0, kv.headDim]),
          }
        : {};
  }

  async run(feeds: Readonly<Record<string, TensorData>>, fetches: readonly string[]): Promise<Record<string, TensorData>> {
    return (await this.runOnDevice(feeds, fetches, [])).host;
  }

  async runOnDevice(
    feeds: Readonly<Record<string, TensorData | DeviceTensor>>,
    fetches: readonly string[],
    deviceFetches: readonly string[],
  ): Promise<{ host: Record<string, TensorData>; device: Record<string, DeviceTensor> }> {
    if (this.released) throw new Error(`${this.file}: session already released`);
    // Its parts are methods of their own: this one function holding them all was V8's largest compile on the
    // decode path (20–35 ms on a background thread, ~160 steps after a load; bench/README section 20).
    // A session with outputs on the device fetches every output, every run (see deviceLocations).
    const all = this.outputsBound ? this.session.outputNames : deviceFetches.length === 0 ? fetches : [...fetches, ...deviceFetches];
    const result = await this.runOrt(this.session, this.ortFeeds(feeds, fetches, all), all);
    const device = this.deviceOutputs(result, deviceFetches);
    const host = await this.hostOutputs(result, fetches);
    // Only bound outputs come back in device memory: the ones nobody kept are freed (after the downloads).
    if (this.outputsBound) this.freeUnkept(result, deviceFetches, all);
    return { host, device };
  }

  /** The onnxruntime feeds of a run: the caller's, the device-cache inputs a host step leaves empty, the graph's switches. */
  private ortFeeds(feeds: Readonly<Record<string, TensorData | DeviceTensor>>, fetches: readonly string[], all: readonly string[]): Record<string, ort.Tensor> {
    const ortFeeds: Record<string, ort.Tensor> = { ...this.emptyDeviceFeeds };
    for (const name in feeds) {
      const t = feeds[name];
      ortFeeds[name] = t instanceof OrtDeviceTensor ? t.tensor : this.hostTensor(name, t as TensorData);
    }
    const split = this.fastOutputs?.split;
    if (split) ortFeeds[split.wholePresents] = all.some((name) => this.splitPresents.has(name)) ? TRUE : FALSE;
    // What the caller asked for, not `all`: a bound session fetches the attention outputs empty then.
    const attention = this.fastOutputs?.attention;
    if (attention) {
      const open = fetches.some((name) => this.attentionOutputs.has(name));
      ortFeeds[attention.on] = open ? TRUE : FALSE;
      ortFeeds[attention.rowStart] = open ? LAST_ROW : NO_ROW;
    }
    return ortFeeds;
  }

  /** The device outputs asked for, as KV tensors. */
  private deviceOutputs(result: ort.InferenceSession.ReturnType, deviceFetches: readonly string[]): Record<string, DeviceTensor> {
    const device: Record<string, DeviceTensor> = {};
    for (const name of deviceFetches) {
      const t = this.output(result, name) as ort.Tensor;
      if (t.type !== 'float32' && t.type !== 'float16') throw new ModelError('run-failed', this.file, `output "${name}" came back as a ${t.type} tensor, not a KV tensor`);
      device[name] = new OrtDeviceTensor(t, t.type);
    }
    return device;
  }

  /** Frees a bound session's device outputs of this run that are not among the ones kept. */
  private freeUnkept(result: ort.InferenceSession.ReturnType, deviceFetches: readonly string[], all: readonly string[]): void {
    const kept = new Set(deviceFetches);
    for (const name of all) {
      const t = result[name] as ort.Tensor | undefined;
      if (t !== undefined && t.location === 'gpu-buffer' && !kept.has(name)) t.dispose();
    }
  }

  /** The host outputs asked for, downloaded where a bound session left them on the device. */
  private async hostOutputs(result: ort.InferenceSession.ReturnType, fetches: readonly string[]): Promise<Record<string, TensorData>> {
    const host: Record<string, TensorData> = {};
    for (const name of fetches) {
      const t = this.output(result, name) as ort.Tensor;
      host[name] = t.location === 'gpu-buffer' ? await this.download(new OrtDeviceTensor(t, t.type as 'float32' | 'float16')) : fromOrtTensor(name, t);
    }
    return host;
  }

  /**
   * The onnxruntime tensor of a host feed, made once per TensorData object: the runner feeds the same
   * past objects step after step ({@link DecoderSession.run} takes feeds by reference: their data may
   * change in place between runs, a TensorData's shape never does), and 60 new ort.Tensor per step were a
   * large part of a step's garbage (bench/README section 20).
   */
  private hostTensor(name: string, t: TensorData): ort.Tensor {
    let tensor = this.hostTensors.get(t);
    if (tensor === undefined) {
      tensor = toOrtTensor(name, t);
      this.hostTensors.set(t, tensor);
    }
    return tensor;
  }

  async download(tensor: DeviceTensor): Promise<TensorData> {
    if (!(tensor instanceof OrtDeviceTensor)) throw new TypeError('download needs a device tensor of this session');
    if (tensor.tensor.location === 'cpu') return fromOrtTensor('download', tensor.tensor);
    let downloader = this.downloaders.get(tensor.type);
    if (downloader === undefined) {
      downloader = ort.InferenceSession.create(identityModel(tensor.type), { executionProviders: [this.provider], logSeverityLevel: 3 });
      this.downloaders.set(tensor.type, downloader);
    }
    const result = await this.runOrt(await downloader, { x: tensor.tensor }, ['y']);
    return fromOrtTensor('y', this.output(result, 'y'));
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    for (const d of this.downloaders.values()) await (await d).release();
    await this.session.release();
  }

  private async runOrt(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, fetches: readonly string[]): Promise<ort.InferenceSession.ReturnType> {
    try {
      return await session.run(feeds, fetches);
    } catch (e) {
      throw new ModelError('run-failed', this.file, `onnxruntime failed while running it: ${describe(e).split('\n')[0]}`, { cause: e });
    }
  }

  private output(result: ort.InferenceSession.ReturnType, name: string): ort.OnnxValue {
    const v = result[name];
    if (v === undefined) throw new ModelError('run-failed', this.file, `the run returned no "${name}" output`);
    return v;
  }
}

function sessionOptions(modelPath: string, provider: ProviderName, intraOpThreads: number | undefined, tuning: SessionTuning): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    // Exports routinely carry unused initializers; their warnings would only fill the app's stderr.
    logSeverityLevel: 3,
    // A model opened from bytes finds its external data here (onnxruntime's session config key); the
    // binding flattens nested keys with dots, so tuning keys go in as they are spelled.
    extra: { ...tuning.config, session: { model_external_initializers_file_folder_path: dirname(modelPath) } },
  };
  if (intraOpThreads !== undefined) options.intraOpNumThreads = intraOpThreads;
  if (tuning.memArena !== undefined) options.enableCpuMemArena = tuning.memArena;
  // No memory patterns on CPU: a pattern is one block per set of input shapes, and as a prompt's chunks
  // meet longer pasts the arena kept every block they outgrew (peak RSS at depth 2048 −50–60 MiB on
  // SmolLM2-135M's shapes, no step measurably slower: bench/README section 10).
  options.enableMemPattern = tuning.memPattern ?? provider !== 'cpu';
  if (tuning.profileFilePrefix !== undefined) {
    options.enableProfiling = true;
    options.profileFilePrefix = tuning.profileFilePrefix;
  }
  if (tuning.optimizedModelFilePath !== undefined) options.optimizedModelFilePath = tuning.optimizedModelFilePath;
  return options;
}

interface Opened {
  readonly session: ort.InferenceSession;
  readonly fast: FastOutputs | null;
  readonly note: string | null;
  readonly device: DeviceCacheGraph | null;
  readonly deviceNote: string | null;
  readonly outputsBound: boolean;
  readonly matMulNBitsAccuracy: AccuracyLevel | null;
  readonly contribFusions: ContribFusions | null;
}

/**
 * Every output of a device-cache graph on the device but the logits. onnxruntime-node (1.30 and 1.31.1
 * alike) runs such a session through one IoBinding that keeps each output bound from earlier runs (an
 * output left out of a run is then written into its previous tensor, whatever its new shape), so every
 * run must fetch every output (see OrtDecoderSession.runOnDevice); on the device, the ones nobody asked
 * for cost no transfer.
 */
function deviceLocations(device: DeviceCacheGraph, fast: FastOutputs): Record<string, 'cpu' | 'gpu-buffer'> {
  // The attention view's outputs are read by the host like the logits (a few floats per slot).
  const host = new Set(['logits', fast.lastLogits, ...(fast.attention ? [fast.attention.layers, fast.attention.mean] : [])]);
  return Object.fromEntries([...device.modelOutputs, ...fast.added, ...device.added].map((n) => [n, host.has(n) ? 'cpu' : 'gpu-buffer'] as const));
}

/**
 * Providers whose outputs onnxruntime-node can leave in device memory ('gpu-buffer'): WebGPU only. Its
 * binding (1.30 and 1.31.1) binds every gpu-buffer output to the "WebGPU_Buf" memory, so a CUDA session
 * cannot keep one on its device.
 */
const DEVICE_OUTPUT_PROVIDERS: ReadonlySet<ProviderName> = new Set(['webgpu']);

/** Providers that get the contrib-op fusion (model/contribFusion) at load. */
const FUSING_PROVIDERS: ReadonlySet<ProviderName> = new Set(['cpu', 'webgpu']);

/**
 * Why a session on `provider` gets no device-resident cache (null: it does): its outputs must be able to
 * stay on the device, unless `onHost` asks for the same path with host tensors (tests, on CPU).
 */
export function deviceCacheRefusal(provider: ProviderName, onHost: boolean): string | null {
  return DEVICE_OUTPUT_PROVIDERS.has(provider) || onHost ? null : `${PROVIDER_LABELS[provider]} outputs cannot stay on the device`;
}

/**
 * Opens the model with the fast outputs when it can; any failure on that path (an unusual graph, external
 * data the in-memory load cannot reach) falls back to opening the file as it is, whose errors are the
 * user-facing ones.
 */
async function create(
  modelPath: string,
  provider: ProviderName,
  intraOpThreads: number | undefined,
  fast: FastOutputsOptions | null,
  tuning: SessionTuning,
  { deviceCache, deviceCacheOnHost, q4Compute }: Pick<SessionOptions, 'deviceCache' | 'deviceCacheOnHost' | 'q4Compute'>,
): Promise<Opened> {
  const options = sessionOptions(modelPath, provider, intraOpThreads, tuning);
  let note = 'disabled';
  const bind = DEVICE_OUTPUT_PROVIDERS.has(provider);
  let deviceNote = deviceCache === undefined ? null : deviceCacheRefusal(provider, deviceCacheOnHost === true);
  if (fast) {
    const device = deviceCache !== undefined && deviceNote === null ? deviceCache : undefined;
    const matMulNBitsAccuracy = tuning.matMulNBitsAccuracy ?? (provider === 'cpu' ? Q4_COMPUTE_LEVEL[q4Compute ?? 'int8'] : undefined);
    // The split attention is for the host path: on a GPU provider the copies it saves stay on the device
    // (and the split graph's process died on WebGPU here, lavapipe, onnxruntime 1.30).
    const splitAttention = provider === 'cpu' && fast.splitAttention !== false;
    // The contrib-op fusion on the providers it was checked on (bench/README section 21): CPU, and WebGPU
    // (lavapipe here: the same greedy tokens, and fewer dispatches a step); the others keep the graph's ops.
    const contribFusions = FUSING_PROVIDERS.has(provider) ? (tuning.contribFusions ?? DEFAULT_CONTRIB_FUSIONS) : undefined;
    const extended = await readWithFastOutputs(modelPath, { ...fast, splitAttention, matMulNBitsAccuracy, contribFusions, device }).catch((e: unknown) => ({ reason: describe(e) }));
    if ('reason' in extended) {
      note = extended.reason;
    } else {
      try {
        const device = extended.device;
        if (device !== null && bind) options.preferredOutputLocation = deviceLocations(device, extended.fast);
        const session = await ort.InferenceSession.create(extended.bytes, options);
        const names = new Set(session.outputNames);
        if ([extended.fast.lastLogits, ...extended.fast.added, ...(device?.added ?? [])].every((n) => names.has(n))) {
          const level = extended.matMulNBitsNodes > 0 ? (matMulNBitsAccuracy ?? null) : null;
          return { session, fast: extended.fast, note: null, device, deviceNote: extended.deviceNote, outputsBound: options.preferredOutputLocation !== undefined, matMulNBitsAccuracy: level, contribFusions: extended.fusions };
        }
        await session.release();
        note = 'onnxruntime did not keep the added outputs';
      } catch (e) {
        note = `the extended graph did not load: ${describe(e).split('\n')[0]}`;
      }
    }
  }
  deviceNote ??= deviceCache === undefined ? null : `no fast outputs (${note})`;
  delete options.preferredOutputLocation;
  return { session: await ort.InferenceSession.create(modelPath, options), fast: null, note, device: null, deviceNote, outputsBound: false, matMulNBitsAccuracy: null, contribFusions: null };
}

function wrap(opened: Opened, file: string, provider: ProviderName, fallbackReason: string | null, providerNote: string | null, kv: DeviceCacheSpec | undefined): OrtDecoderSession {
  return new OrtDecoderSession(opened.session, file, provider, fallbackReason, providerNote, opened.fast, opened.note, opened.device, opened.deviceNote, kv ?? null, opened.outputsBound, opened.matMulNBitsAccuracy, opened.contribFusions);
}

/**
 * Opens `modelPath` on the requested provider; if that provider is not in this build or fails to
 * initialise, opens it on cpu and says why in `fallbackReason`. `auto` tries the hardware accelerators
 * of {@link planAuto} in turn, else cpu, and says which and why in `providerNote`. Throws ModelError (missing-file,
 * corrupt-onnx, missing-external-data, session-failed) when the model itself cannot load.
 */
export async function openSession(modelPath: string, options: SessionOptions = {}): Promise<DecoderSession> {
  const requested = options.provider ?? 'cpu';
  const threads = options.intraOpThreads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new RangeError(`intraOpThreads must be a positive integer, got ${threads}`);
  }
  const file = basename(modelPath);
  const fast = (options.fastOutputs ?? true) ? { attention: options.attentionOutputs, splitAttention: options.splitAttention } : null;
  let fallbackReason: string | null = null;
  let providerNote: string | null = null;
  if (requested === 'auto') {
    const plan = planAuto(availableProviders(), options.accelerators ?? acceleratorFacts());
    const passed = [...plan.skipped];
    for (const candidate of plan.candidates) {
      const label = PROVIDER_LABELS[candidate.name];
      try {
        const opened = await create(modelPath, candidate.name, threads, fast, options.tuning ?? {}, options);
        return wrap(opened, file, candidate.name, null, `auto: ${label} (${candidate.why})`, options.deviceCache);
      } catch (e) {
        passed.push(`${label} failed to start: ${describe(e).split('\n')[0]}`);
      }
    }
    providerNote = `auto: CPU (${passed.length > 0 ? passed.join('; ') : 'this build offers no hardware accelerator here'})`;
  } else if (requested !== 'cpu') {
    const offer = availableProviders().find((p) => p.name === requested);
    if (offer?.available !== true) {
      fallbackReason = offer?.reason ?? `${requested} is not available`;
    } else {
      try {
        const opened = await create(modelPath, requested, threads, fast, options.tuning ?? {}, options);
        return wrap(opened, file, requested, null, null, options.deviceCache);
      } catch (e) {
        fallbackReason = `${requested} failed to start: ${describe(e).split('\n')[0]}`;
      }
    }
  }
  try {
    const opened = await create(modelPath, 'cpu', threads, fast, options.tuning ?? {}, options);
    return wrap(opened, file, 'cpu', fallbackReason, providerNote, options.deviceCache);
  } catch (e) {
    throw loadError(modelPath, e);
  }
}
