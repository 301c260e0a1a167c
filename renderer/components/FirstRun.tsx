// The first-run screen, shown while no model is installed: what Ouro needs, a button to the Models page
// (download a curated model), and the model folder field for a folder the user already has. Renderer.
import { useStoreApi } from '../state/storeContext';
import { CubeIcon } from './icons';
import { ImportModelForm } from './ImportModelForm';
import { ProgressStrip } from './ProgressBar';

export function FirstRun() {
  const store = useStoreApi();
  return (
    <section className="first-run" aria-labelledby="first-run-title" data-testid="first-run">
      <div className="first-run-card">
        <div className="brand-mark is-large" aria-hidden="true" />
        <h1 id="first-run-title">Welcome to Ouro</h1>
        <p className="lead">
          Ouro runs a language model on this computer, and your conversations never run out of room. To start, give
          it a model.
        </p>
        <ol className="steps">
          <li>
            <strong>Download one.</strong> The Models page lists small chat models that run on a laptop (SmolLM2,
            Qwen2.5, Llama 3.2), with their size and memory needs. Downloads resume if the connection drops.
            <div className="first-run-action">
              <button type="button" className="button button-primary" autoFocus onClick={() => store.getState().showView('models')}>
                <CubeIcon />
                Browse models
              </button>
            </div>
          </li>
          <li>
            <strong>Or open a folder you already have.</strong> Ouro runs decoder-only models exported to ONNX in the
            Hugging Face transformers.js layout — Llama, SmolLM2, Qwen2.5, Mistral, Phi-3 or Gemma. Paste the
            folder’s path; Ouro checks it and tells you exactly what is wrong if it cannot use it.
          </li>
        </ol>
        <ImportModelForm />
        <ProgressStrip />
      </div>
    </section>
  );
}
