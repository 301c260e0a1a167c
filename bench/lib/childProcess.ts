// Runs a TypeScript (or JS) script in a fresh Node process and collects the JSON lines it prints, so
// sections can alternate runners in separate processes (benchmark process only).
import { spawn } from 'node:child_process';

/**
 * Runs `script` with `args` under `node --import tsx --expose-gc [nodeFlags]`, with `env` added to this process's
 * environment; resolves with every stdout line that parses as a JSON object, rejects with the tail of stderr
 * when the process fails.
 */
export function runScript(
  script: string,
  args: readonly string[],
  opts: { echo?: boolean; nodeFlags?: readonly string[]; env?: Readonly<Record<string, string>> } = {},
): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const flags = ['--import', 'tsx', '--expose-gc', ...(opts.nodeFlags ?? [])];
    const env = opts.env ? { ...process.env, ...opts.env } : process.env;
    const child = spawn(process.execPath, [...flags, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const objects: Record<string, unknown>[] = [];
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('{')) {
          try {
            objects.push(JSON.parse(line) as Record<string, unknown>);
            continue;
          } catch {
            // not JSON after all: fall through to echo
          }
        }
        if (opts.echo) process.stdout.write(`${line}\n`);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
      if (opts.echo) process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (pending.startsWith('{')) {
        try {
          objects.push(JSON.parse(pending) as Record<string, unknown>);
        } catch {
          // a torn last line: ignore
        }
      }
      if (code === 0) resolve(objects);
      else reject(new Error(`${script} ${args.join(' ')} exited with ${code}:\n${stderr}`));
    });
  });
}
