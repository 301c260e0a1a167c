// The first-run screen, shown while no model is installed: what Ouro needs and how to get it, with the
// model folder field right there. Renderer.
import { ImportModelForm } from './ImportModelForm';
import { ProgressStrip } from './ProgressBar';

export function FirstRun() {
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
            <strong>Get a model folder.</strong> Ouro runs decoder-only models exported to ONNX in the Hugging Face
            transformers.js layout — Llama, SmolLM2, Qwen2.5, Mistral, Phi-3 or Gemma. The <em>onnx-community</em>{' '}
            organisation on Hugging Face publishes many, for example <code>SmolLM2-135M-Instruct</code>. Download the
            whole folder, including its <code>onnx/</code> subfolder.
          </li>
          <li>
            <strong>Open it here.</strong> Paste the folder’s path below. Ouro checks it and tells you exactly what
            is missing if it cannot use it.
          </li>
        </ol>
        <ImportModelForm autoFocus />
        <ProgressStrip />
        <p className="muted small">
          The <strong>Models</strong> section of the README lists the supported architectures and the files a folder
          needs.
        </p>
      </div>
    </section>
  );
}
