// What machine and software a benchmark ran on, stored with every result (benchmark process only).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  readonly cpu: string;
  readonly logicalCores: number;
  readonly totalMemGiB: number;
  readonly platform: string;
  readonly node: string;
  readonly onnxruntimeNode: string;
  readonly transformersJs: string;
  readonly loadAverage: readonly number[];
  readonly gitCommit: string | null;
  readonly date: string;
}

function packageVersion(name: string): string {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return 'absent';
  }
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function machineInfo(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    logicalCores: os.availableParallelism(),
    totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform}-${process.arch} ${os.release()}`,
    node: process.version,
    onnxruntimeNode: packageVersion('onnxruntime-node'),
    transformersJs: packageVersion('@huggingface/transformers'),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    gitCommit: gitCommit(),
    date: new Date().toISOString(),
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpu}, ${m.logicalCores} logical cores, ${m.totalMemGiB} GiB, ${m.platform}; Node ${m.node}, onnxruntime-node ${m.onnxruntimeNode}, transformers.js ${m.transformersJs}; load avg ${m.loadAverage.join(' ')}; ${m.date}${m.gitCommit ? `, commit ${m.gitCommit}` : ''}`;
}
