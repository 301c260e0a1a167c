// A chat message as the engine and the chat template see it, and why a reply ended. Pure types shared
// by the engine, the host protocol and the IPC contract.

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string;
}

/** `eos`: the model ended its turn; `stop`: a stop string; `max`: the token limit; `cancelled`: the user. */
export type DoneReason = 'eos' | 'stop' | 'max' | 'cancelled';
