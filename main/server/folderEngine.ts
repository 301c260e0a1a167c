// The server's engine when it runs on its own (`npm run serve`, tests, benchmarks): one model folder,
// loaded at start and loaded again into a host that replaced a crashed one. Runs in the serving process.
import path from 'node:path';
import type { CacheSettings } from '../engine/chatTypes';
import type { ProviderChoice } from '../../common/providers';
import type { Q4Compute } from '../../common/settingsSchema';
import type { ModelInfo } from '../../common/modelInfo';
import type { EngineOwner } from '../services/engineOwner';
import type { ServerEngine } from './openaiServer';

export interface FolderEngineOptions {
  readonly dir: string;
  readonly provider?: ProviderChoice;
  readonly q4Compute?: Q4Compute;
  readonly threads?: number;
  readonly cache: CacheSettings;
}

/** Loads `dir` through `owner` and serves it under its folder name. */
export async function folderEngine(owner: EngineOwner, options: FolderEngineOptions): Promise<ServerEngine & { readonly info: ModelInfo }> {
  const id = path.basename(path.resolve(options.dir));
  const load = () =>
    owner.exclusive(() =>
      owner.request('load', { dir: options.dir, provider: options.provider, q4Compute: options.q4Compute, ...(options.threads ? { threads: options.threads } : {}) }),
    );
  let info = await load();
  let loadedIn = owner.supervisor.generation;
  return {
    owner,
    get info() {
      return info;
    },
    cache: () => options.cache,
    model: async () => {
      if (loadedIn !== owner.supervisor.generation) {
        loadedIn = owner.supervisor.generation;
        info = await load();
      }
      return { id, info };
    },
  };
}
