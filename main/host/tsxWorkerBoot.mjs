// Boots a TypeScript worker entry under plain Node: registers tsx, then imports the entry it was given.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
