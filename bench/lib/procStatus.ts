// This process's memory as the kernel counts it (/proc/self/status, Linux), for the benchmark children.
import { readFileSync } from 'node:fs';

/** Resident MiB (anonymous / file-backed) and the high-water mark of resident memory. */
export interface ProcMemory {
  rss: number;
  hwm: number;
  anon: number;
  file: number;
}

export function procMemory(): ProcMemory {
  const text = readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)![1]);
  return { rss: Math.round(kb('VmRSS') / 1024), hwm: Math.round(kb('VmHWM') / 1024), anon: Math.round(kb('RssAnon') / 1024), file: Math.round(kb('RssFile') / 1024) };
}

/**
 * Peak resident MiB of this process's own memory. Not `resourceUsage().maxRSS`: exec carries the forking
 * parent's high-water mark into the child's maxRSS, so a child spawned by a large bench process reported
 * the parent's size (the llama.cpp section's peaks of 630–738 MiB for both engines once its parent had
 * built fixtures). VmHWM belongs to the address space exec made.
 */
export function peakRssMiB(): number {
  return process.platform === 'linux' ? procMemory().hwm : process.resourceUsage().maxRSS / 1024;
}
