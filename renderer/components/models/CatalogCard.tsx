// One curated model: name, size facts (parameters, download, memory, context), licence, variant picker,
// the suggested attention-sink cache, a note for unverified entries, and its download area. Renderer.
import { useId, useState } from 'react';
import { variantForProvider } from '../../../common/catalogSchema';
import type { CatalogModel } from '../../../common/contract';
import { formatBytes, formatCount } from '../../format';
import { selectHubBaseUrl, selectIsInstalled, selectVariantProvider } from '../../state/selectors';
import { useAppStore } from '../../state/storeContext';
import { DownloadPanel } from './DownloadPanel';
import { formatParameters } from './modelText';

export function CatalogCard({ entry }: { readonly entry: CatalogModel }) {
  const nameId = useId();
  const variantId = useId();
  const hub = useAppStore(selectHubBaseUrl);
  const provider = useAppStore(selectVariantProvider);
  // Until the user picks one, the variant that suits the provider (q4f16 on a GPU, q4 on CPU).
  const [picked, setPicked] = useState<string | null>(null);
  const suggested = variantForProvider(entry, provider);
  const variant = entry.variants.find((v) => v.id === (picked ?? suggested)) ?? entry.variants[0];
  const installed = useAppStore(selectIsInstalled(variant.modelId));
  const { sink, window } = entry.suggestedCache;
  return (
    <article className="catalog-card" aria-labelledby={nameId} data-testid="catalog-card" data-catalog-id={entry.id}>
      <header className="catalog-card-header">
        <h3 id={nameId}>{entry.name}</h3>
        {installed && <span className="badge">Installed</span>}
        {entry.gated && <span className="badge badge-quiet">Needs a Hugging Face token</span>}
      </header>
      <a className="catalog-repo" href={`${hub.replace(/\/+$/, '')}/${entry.repo}`} target="_blank" rel="noreferrer">
        {entry.repo}
      </a>
      <dl className="catalog-facts">
        <div>
          <dt>Parameters</dt>
          <dd>{formatParameters(entry.parameters)}</dd>
        </div>
        <div>
          <dt>Download</dt>
          <dd>{formatBytes(variant.approxDownloadBytes)}</dd>
        </div>
        <div>
          <dt>Memory</dt>
          <dd>about {formatBytes(variant.approxRamBytes)}</dd>
        </div>
        <div>
          <dt>Trained context</dt>
          <dd>{formatCount(entry.contextLength)} tokens</dd>
        </div>
        <div>
          <dt>Suggested cache</dt>
          <dd>
            {sink} sink + {formatCount(window)} window tokens
          </dd>
        </div>
        <div>
          <dt>Licence</dt>
          <dd>
            <a href={entry.licence.url} target="_blank" rel="noreferrer">
              {entry.licence.id}
            </a>
          </dd>
        </div>
      </dl>
      <div className="catalog-variant">
        <label htmlFor={variantId}>Variant</label>
        <select id={variantId} value={variant.id} disabled={entry.variants.length < 2} onChange={(e) => setPicked(e.target.value)}>
          {entry.variants.map((v) => (
            <option key={v.id} value={v.id}>
              {v.id} · {v.weights} weights · {formatBytes(v.approxDownloadBytes)}
              {v.kvDtype === 'float16' ? ' · for GPU providers' : ' · for CPU'}
            </option>
          ))}
        </select>
      </div>
      {(!entry.verified || !entry.engineTested) && (
        <p className="catalog-note">
          {entry.verified
            ? 'Not yet tried with Ouro: the files are pinned and hash-checked, but this exact export has not been chatted with here.'
            : 'Unverified: its revision or graph hash has not been reviewed for Ouro (files are still checked against the Hub’s hashes), so it may turn out not to run.'}
        </p>
      )}
      <DownloadPanel entry={entry} variant={variant} installed={installed} nameId={nameId} />
    </article>
  );
}
