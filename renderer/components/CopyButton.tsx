// A copy-to-clipboard button whose accessible name never changes (tests and screen readers find it by
// name); a check mark shows for a moment after copying. Renderer.
import { useEffect, useState } from 'react';
import { copyText } from '../clipboard';
import { CheckIcon, CopyIcon } from './icons';

export interface CopyButtonProps {
  /** Accessible name, also the tooltip. */
  readonly label: string;
  /** Read at click time, so streaming text copies as it stands. */
  readonly getText: () => string;
  readonly className?: string;
  /** Show a text label next to the icon. */
  readonly showLabel?: boolean;
}

export function CopyButton({ label, getText, className, showLabel }: CopyButtonProps) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = window.setTimeout(() => setCopied(false), 1500);
    return () => window.clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      className={className ?? 'icon-button'}
      aria-label={label}
      title={copied ? 'Copied' : label}
      data-copied={copied || undefined}
      onClick={() => {
        void copyText(getText()).then((ok) => setCopied(ok));
      }}
    >
      {copied ? <CheckIcon /> : <CopyIcon />}
      {showLabel && <span aria-hidden="true">{copied ? 'Copied' : label}</span>}
    </button>
  );
}
