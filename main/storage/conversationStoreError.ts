// Errors the conversation store raises, each with a code to branch on and a message for the user.
// Runs in the main process (storage); plain Node, no electron.

import type { z } from 'zod';
import type { Conversation } from '../../common/conversationSchema';

export type ConversationErrorCode =
  | 'not_found'
  | 'exists'
  | 'damaged'
  | 'invalid_input'
  | 'unknown_message'
  | 'duplicate_message'
  | 'writer_closed';

/** Extra facts for some codes: the file and line of damage, and what could be read before it. */
export interface ConversationErrorDetails {
  readonly file?: string;
  readonly line?: number;
  /** For `damaged`: the conversation as far as the file could be read (read-only). */
  readonly partial?: Conversation;
}

/** A refused conversation operation. Nothing was written when one is thrown. */
export class ConversationStoreError extends Error {
  constructor(
    readonly code: ConversationErrorCode,
    message: string,
    readonly details: ConversationErrorDetails = {},
  ) {
    super(message);
    this.name = 'ConversationStoreError';
  }
}

/** Validates input to a store method; a failure is `invalid_input` naming the field. */
export function checkInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? ` (${issue.path.map(String).join('.')})` : '';
  throw new ConversationStoreError('invalid_input', `Invalid ${what}${where}: ${issue?.message ?? 'rejected'}.`);
}
