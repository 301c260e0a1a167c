// This process's memory as the kernel counts it (/proc/self/status, Linux), for the benchmark children.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/**
 * Resident MiB per mapping of this process (/proc/self/smaps, Linux): `[heap]` (glibc's main arena),
 * `anon` (every other anonymous mapping: mmapped allocations, V8's heap, glibc's other arenas) and each
 * file by its base name; mappings under 1 MiB resident are summed in `other`.
 */
export function smapsByName(): Record<string, number> {
  const kb = new Map<string, number>();
  let name = 'anon';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const path = head[1];
      name = path === '' ? 'anon' : path.startsWith('[') ? path : path.slice(path.lastIndexOf('/') + 1);
    } else if (line.startsWith('Rss:')) {
      kb.set(name, (kb.get(name) ?? 0) + Number(/(\d+)/.exec(line)![1]));
    }
  }
  const out: Record<string, number> = {};
  let other = 0;
  for (const [n, k] of [...kb].sort((a, b) => b[1] - a[1])) {
    if (k >= 1024) out[n] = Math.round(k / 1024);
    else other += k;
  }
  out.other = Math.round(other / 1024);
  return out;
}

/**
 * glibc's count of this process's allocations, MiB: the main arena's (`[heap]`) system and free bytes, and
 * the chunks it mmapped. Attaches gdb (Linux, installed, ptrace allowed) to call malloc_info: the process
 * stops for the ~second it takes.
 */
export function mallocMiB(): { heapSystem: number; heapFree: number; heapLargestFree: number; mmapped: number } {
  const file = join(tmpdir(), `malloc-info-${process.pid}.xml`);
  execFileSync('gdb', ['-p', String(process.pid), '-batch', '-ex', `call (void*)fopen("${file}", "w")`, '-ex', 'call (int)malloc_info(0, $1)', '-ex', 'call (int)fclose($1)'], { stdio: 'ignore' });
  const xml = readFileSync(file, 'utf8');
  rmSync(file);
  const heap0 = /<heap nr="0">([\s\S]*?)<\/heap>/.exec(xml)![1];
  const attr = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  const mib = (b: number) => Math.round(b / 1048576);
  const largest = Math.max(0, ...[...heap0.matchAll(/<size from="\d+" to="(\d+)"/g)].map((m) => Number(m[1])));
  const tail = xml.slice(xml.lastIndexOf('</heap>'));
  return {
    heapSystem: mib(attr(heap0, /<system type="current" size="(\d+)"/)),
    heapFree: mib(attr(heap0, /<total type="fast" count="\d+" size="(\d+)"/) + attr(heap0, /<total type="rest" count="\d+" size="(\d+)"/)),
    heapLargestFree: mib(largest),
    mmapped: mib(attr(tail, /<total type="mmap" count="\d+" size="(\d+)"/)),
  };
}
