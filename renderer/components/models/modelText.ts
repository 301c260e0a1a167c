// Words and numbers of the Models page: parameter counts, download progress (bytes, speed, ETA),
// phases, what to do about a failed download, and model display names. Pure; renderer.
import type { CatalogListing, DownloadFailure, DownloadSnapshot, InstalledModel } from '../../../common/contract';
import { formatBytes } from '../../format';

/** 135M, 1.7B. */
export function formatParameters(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(count >= 1e10 ? 0 : 1)}B`;
  if (count >= 1e6) return `${Math.round(count / 1e6)}M`;
  if (count >= 1e3) return `${Math.round(count / 1e3)}K`;
  return String(count);
}

/** "1.2 MB/s". */
export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** "less than a minute left", "about 3 min left", "about 1 h 20 min left". */
export function formatEta(seconds: number): string {
  if (seconds < 60) return 'less than a minute left';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min left`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return `about ${hours} h${rest ? ` ${rest} min` : ''} left`;
}

/** "12 MB of 200 MB · 1.2 MB/s · about 2 min left" (speed and ETA once known). */
export function progressDetail(d: Readonly<DownloadSnapshot>): string {
  if (d.totalBytes === 0) return 'Asking the Hub for the files…';
  const parts = [`${formatBytes(d.receivedBytes)} of ${formatBytes(d.totalBytes)}`];
  if (d.phase === 'downloading' && d.bytesPerSecond > 0) parts.push(formatSpeed(d.bytesPerSecond));
  if (d.phase === 'downloading' && d.etaSeconds !== null && d.etaSeconds > 0) parts.push(formatEta(d.etaSeconds));
  if (d.retry) parts.push(`connection lost, retrying (attempt ${d.retry.attempt})`);
  return parts.join(' · ');
}

/** The progress bar's label for an active download. */
export function phaseLabel(phase: DownloadSnapshot['phase']): string {
  switch (phase) {
    case 'resolving':
      return 'Preparing download';
    case 'downloading':
      return 'Downloading';
    case 'verifying':
      return 'Checking the model';
    case 'installing':
      return 'Installing';
    case 'installed':
      return 'Installed';
    case 'failed':
      return 'Download failed';
    case 'cancelled':
      return 'Download paused';
    case 'paused':
      return 'Download unfinished';
  }
}

/** What a failed download's card offers next. */
export type FailureAction = 'resume' | 'retry' | 'add-token' | 'open-model-page';

/** A failure explained for the card: one sentence of what to do, and the buttons that do it. */
export interface FailureHelp {
  readonly advice: string;
  readonly actions: readonly FailureAction[];
}

/**
 * What to do about `failure`. `resumable`: bytes are on disk, so Resume continues; otherwise the
 * download starts over (Retry).
 */
export function failureHelp(failure: Readonly<DownloadFailure>, resumable: boolean): FailureHelp {
  const again: FailureAction = resumable ? 'resume' : 'retry';
  switch (failure.code) {
    case 'gated':
      return {
        advice: 'This model is gated: open its page on Hugging Face, sign in and accept the licence, then add a read token below and try again.',
        actions: ['open-model-page', 'add-token', again],
      };
    case 'auth-required':
      return {
        advice: 'Hugging Face wants a valid access token for this model: create a read token in your Hugging Face settings and add it below.',
        actions: ['add-token', again],
      };
    case 'network':
    case 'server':
      return { advice: 'The download stopped. Check the connection and resume: it continues where it stopped.', actions: [again] };
    case 'disk-full':
      return { advice: 'Free some disk space, then resume.', actions: [again] };
    case 'hash-mismatch':
    case 'size-mismatch':
    case 'range-not-satisfiable':
      return { advice: 'A file arrived damaged and was deleted; trying again fetches it afresh.', actions: [again] };
    case 'catalog-mismatch':
    case 'invalid-model':
    case 'not-found':
      return { advice: 'Ouro’s catalog entry for this model needs an update; trying again will not help.', actions: [] };
    default:
      return { advice: 'Try again; if it keeps failing, the message below says why.', actions: [again] };
  }
}

/**
 * How the app names an installed model: a catalog download by its catalog name and variant
 * ("SmolLM2 135M Instruct (q4)"), anything else by its folder name.
 */
export function modelDisplayName(model: Readonly<InstalledModel>, catalog: Readonly<CatalogListing> | null): string {
  for (const entry of catalog?.models ?? []) {
    const variant = entry.variants.find((v) => v.modelId === model.id);
    if (variant) return `${entry.name} (${variant.id})`;
  }
  return model.name;
}
