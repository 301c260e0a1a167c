// The footer of an assistant reply: tokens, tok/s, time to first token and re-processed tokens (live
// counters while it streams), plus the status line of a stopped, interrupted or failed reply. Renderer.
import type { Message } from '../../common/contract';
import { formatCount, formatDuration, formatRate } from '../format';
import type { DisplayStatus } from '../state/messageList';
import { selectStopping, selectStreamFirstTokenAt, selectStreamStartedAt, selectStreamTokens } from '../state/selectors';
import { useAppStore } from '../state/storeContext';

/** Stats of a finished reply, or live counters of the streaming one. */
export function ReplyFooter({ message, live }: { readonly message: Message; readonly live: boolean }) {
  if (live) return <LiveFooter />;
  const stats = message.stats;
  if (!stats) return null;
  return (
    <footer className="reply-footer" data-testid="reply-footer">
      <span data-stat="tokens">{formatCount(stats.tokens)} tokens</span>
      <span data-stat="tok-per-sec">{formatRate(stats.tokPerSec)} tok/s</span>
      <span data-stat="ttft" title="Time to first token">
        {formatDuration(stats.ttftMs)} to first token
      </span>
      <span
        data-stat="reprocessed"
        data-value={stats.reprocessedTokens}
        title="Tokens of earlier turns the model had to read again for this reply"
      >
        re-processed tokens: {formatCount(stats.reprocessedTokens)}
      </span>
    </footer>
  );
}

function LiveFooter() {
  const tokens = useAppStore(selectStreamTokens);
  const startedAt = useAppStore(selectStreamStartedAt);
  const firstTokenAt = useAppStore(selectStreamFirstTokenAt);
  if (firstTokenAt === null || startedAt === null) return null;
  // Re-renders once per frame with new tokens, so the clock read here is as fresh as the count.
  const elapsed = Date.now() - firstTokenAt;
  const rate = elapsed > 0 ? (tokens * 1000) / elapsed : 0;
  return (
    <footer className="reply-footer is-live" data-testid="reply-footer" data-live="true">
      <span data-stat="tokens">{formatCount(tokens)} tokens</span>
      {elapsed > 250 && <span data-stat="tok-per-sec">{formatRate(rate)} tok/s</span>}
      <span data-stat="ttft" title="Time to first token">
        {formatDuration(firstTokenAt - startedAt)} to first token
      </span>
    </footer>
  );
}

const STATUS_TEXT: Partial<Record<DisplayStatus, string>> = {
  stopped: 'Stopped. You stopped this reply before it finished; Regenerate writes a new one.',
  interrupted: 'Interrupted. Ouro closed while this reply was being written; Regenerate writes a new one.',
};

/** The explanation under a reply that did not finish normally. */
export function ReplyStatus({ message, status }: { readonly message: Message; readonly status: DisplayStatus }) {
  const stopping = useAppStore(selectStopping);
  if (status === 'streaming') {
    return stopping ? (
      <p className="reply-status" role="status">
        Stopping…
      </p>
    ) : null;
  }
  if (status === 'error') {
    return (
      <p className="reply-status is-error" role="alert">
        {message.error ?? 'The reply failed.'} Regenerate to try again.
      </p>
    );
  }
  const text = STATUS_TEXT[status];
  return text ? <p className={`reply-status is-${status}`}>{text}</p> : null;
}
