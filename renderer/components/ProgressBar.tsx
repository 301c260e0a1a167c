// Progress bars: one labelled bar, and the strip that shows model load and long prefill progress from
// `progress` events. Renderer.
import { formatCount } from '../format';
import { selectLoadProgress, selectLoadingModelId, selectPrefillProgress } from '../state/selectors';
import { useAppStore } from '../state/storeContext';

export interface ProgressBarProps {
  readonly label: string;
  /** Omit `total` (or pass 0) for an indeterminate bar. */
  readonly done?: number;
  readonly total?: number;
  readonly detail?: string;
}

export function ProgressBar({ label, done = 0, total = 0, detail }: ProgressBarProps) {
  const percent = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : undefined;
  return (
    <div className="progress" data-testid="progress">
      <div className="progress-text">
        <span>{label}</span>
        <span className="progress-detail">{detail ?? (percent === undefined ? '' : `${percent}%`)}</span>
      </div>
      <div
        className={`progress-track ${percent === undefined ? 'is-indeterminate' : ''}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
      >
        <div className="progress-fill" style={percent === undefined ? undefined : { width: `${percent}%` }} />
      </div>
    </div>
  );
}

/** Model load and prefill progress, shown while either runs. */
export function ProgressStrip() {
  const load = useAppStore(selectLoadProgress);
  const loadingModel = useAppStore(selectLoadingModelId);
  const prefill = useAppStore(selectPrefillProgress);
  if (!load && !loadingModel && !prefill) return null;
  return (
    <div className="progress-strip">
      {(load || loadingModel) && <ProgressBar label="Loading model" done={load?.done} total={load?.total} />}
      {prefill && (
        <ProgressBar
          label="Reading the conversation"
          done={prefill.done}
          total={prefill.total}
          detail={`${formatCount(prefill.done)} / ${formatCount(prefill.total)} tokens`}
        />
      )}
    </div>
  );
}
