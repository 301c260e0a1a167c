// One handler per contract verb, over the parts AppServices owns. Arguments arrive validated by the
// contract's schemas; every failure is thrown as an ApiFailure or a lower layer's error (mapped by the
// caller). Runs in main.
import type { z } from 'zod';
import type { Verb, VerbResult, verbs } from '../../common/contract';
import { redactSettings } from '../../common/settingsSchema';
import type { ServiceParts } from './appServices';
import { modelHandlers } from './modelHandlers';

/** The arguments of a verb after validation. */
type ParsedArgs<V extends Verb> = z.output<(typeof verbs)[V]['args']>;

export type ServiceHandlers = { readonly [V in Verb]: (args: ParsedArgs<V>) => Promise<VerbResult<V>> };

/** The handlers for `parts` (the whole contract, checked by the type above). */
export function serviceHandlers(parts: ServiceParts): ServiceHandlers {
  const { settings, store, engine, streams, chat, emit } = parts;

  return {
    'app.info': async () => ({
      version: await parts.version(),
      dataDir: parts.dataDir,
      // A host that is down lists nothing rather than failing the whole answer.
      providers: await engine.request('providers', {}).catch(() => []),
      platform: process.platform,
    }),
    'repairs.list': async () => parts.repairs.list(),
    'repairs.dismiss': async ({ id }) => {
      await parts.repairs.dismiss(id);
      return null;
    },
    // The Hugging Face token stays in main: the renderer only learns whether one is saved.
    'settings.get': async () => redactSettings(settings.get()),
    'settings.update': async ({ patch }) => {
      const stored = await settings.update(patch);
      const next = redactSettings(stored);
      emit({ type: 'settings', settings: next });
      // The server follows its settings: a failure to start shows in its status, not as this verb's error.
      if (patch.server) await parts.server.apply(stored.server);
      return next;
    },

    ...modelHandlers(parts),

    'conversations.list': () => store.list(),
    'conversations.search': async ({ query }) => {
      if (query.trim() === '') return [];
      const seen = new Set<string>();
      const rows: { conversationId: string; title: string; snippet: string }[] = [];
      // One row per conversation (its first hit): the sidebar lists conversations, not matches.
      for (const hit of await store.search(query)) {
        if (seen.has(hit.conversationId)) continue;
        seen.add(hit.conversationId);
        rows.push({ conversationId: hit.conversationId, title: hit.conversationTitle, snippet: hit.snippet });
      }
      return rows;
    },
    'conversations.create': async ({ title }) => {
      const conversation = await store.create(title === undefined || title.trim() === '' ? {} : { title });
      parts.conversationsChanged();
      return conversation;
    },
    'conversations.open': ({ conversationId }) => chat.open(conversationId),
    'conversations.rename': async ({ conversationId, title }) => {
      await store.rename(conversationId, title);
      parts.conversationsChanged();
      return null;
    },
    'conversations.delete': async ({ conversationId }) => {
      await chat.settle(conversationId);
      // Under the engine lock, so no snapshot of it is being written while its files go.
      await engine.exclusive(async () => {
        await store.delete(conversationId);
        streams.forget(conversationId);
      });
      parts.conversationsChanged();
      return null;
    },
    'conversations.updateSettings': async ({ conversationId, settings: overrides }) => {
      await store.updateSettings(conversationId, { settings: overrides });
      return null;
    },
    'conversations.export': async ({ conversationId, format }) => {
      const conversation = await store.loadReadable(conversationId);
      const content = format === 'markdown' ? await store.exportMarkdown(conversationId) : await store.exportJson(conversationId);
      return { fileName: `${fileStem(conversation.title)}.${format === 'markdown' ? 'md' : 'json'}`, content };
    },

    'chat.send': ({ conversationId, content }) => chat.send(conversationId, content),
    'chat.regenerate': ({ conversationId }) => chat.regenerate(conversationId),
    'chat.edit': ({ conversationId, messageId, content }) => chat.edit(conversationId, messageId, content),
    'chat.showVersion': ({ conversationId, messageId }) => chat.showVersion(conversationId, messageId),
    'chat.stop': async ({ conversationId }) => {
      await chat.stop(conversationId);
      return null;
    },
    'chat.preview': ({ conversationId, draft }) => chat.preview(conversationId, draft),
    'chat.pin': ({ conversationId, messageId, pinned, chars }) => chat.pin(conversationId, messageId, pinned, chars),
    'cache.view': ({ conversationId }) => chat.cacheView(conversationId),
    'cache.attention': ({ open, layer }) => chat.cacheAttention(open, layer ?? null),
    'server.status': async () => parts.server.status,
  };
}

/** A file name from a title: letters, digits, spaces and dashes only, never empty. */
function fileStem(title: string): string {
  const stem = title.replace(/[^\p{L}\p{N} _-]+/gu, ' ').replace(/\s+/g, ' ').trim().slice(0, 80);
  return stem || 'conversation';
}
