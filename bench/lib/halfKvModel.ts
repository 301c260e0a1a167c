// An fp16-KV copy of an fp32-KV model folder, for measuring what an fp16 cache costs in quality where no
// fp16 export exists (stories260K): past inputs and present outputs become float16 with a Cast at each
// boundary, logits too; the math inside stays fp32. Like the fixture builder's fp16-KV variant, the new
// rows are rounded to half once and attention reads the rounded cache. Benchmark process only.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
const KV = /^(past_key_values|present)\.\d+\.(key|value)$/;

/** Writes the fp16-KV copy of `src` (a folder with onnx/model.onnx, weights inline) into `dst`; returns dst. */
export function writeHalfKvCopy(src: string, dst: string): string {
  mkdirSync(join(dst, 'onnx'), { recursive: true });
  for (const f of readdirSync(src)) if (f.endsWith('.json')) copyFileSync(join(src, f), join(dst, f));
  const model = onnx.ModelProto.decode(readFileSync(join(src, 'onnx', 'model.onnx')));
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const rename = (from: string, to: string) => {
    for (const n of nodes) n.input = (n.input ?? []).map((i) => (i === from ? to : i));
  };
  const cast = (input: string, output: string, to: number): onnxProto.onnx.INodeProto => ({
    name: `${output}/Cast`,
    opType: 'Cast',
    input: [input],
    output: [output],
    attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }],
  });
  const first: onnxProto.onnx.INodeProto[] = [];
  for (const input of graph.input ?? []) {
    if (!KV.test(input.name ?? '')) continue;
    const inner = `${input.name}/fp32`;
    rename(input.name!, inner);
    input.type!.tensorType!.elemType = FLOAT16;
    first.push(cast(input.name!, inner, FLOAT));
  }
  // Casts that follow the node producing a (renamed) output: to half for the output, and for a present back
  // to fp32 for the attention that reads it, so attention sees exactly what the next step's past holds.
  const after = new Map<string, onnxProto.onnx.INodeProto[]>();
  for (const output of graph.output ?? []) {
    const name = output.name ?? '';
    if (!KV.test(name) && name !== 'logits') continue;
    const inner = `${name}/fp32`;
    for (const n of nodes) n.output = (n.output ?? []).map((o) => (o === name ? inner : o));
    output.type!.tensorType!.elemType = FLOAT16;
    const added = [cast(inner, name, FLOAT16)];
    if (name !== 'logits') {
      const rounded = `${name}/rounded`;
      rename(name, rounded);
      rename(inner, rounded);
      added.push(cast(name, rounded, FLOAT));
    }
    after.set(inner, added);
  }
  graph.node = [...first, ...nodes.flatMap((n) => [n, ...(n.output ?? []).flatMap((o) => after.get(o) ?? [])])];
  writeFileSync(join(dst, 'onnx', 'model.onnx'), onnx.ModelProto.encode(model).finish());
  return dst;
}
