// Renders message markdown: GFM, highlighted code blocks with a Copy button, links that open outside
// the app, images shown as their alt text (the CSP loads none from the network). Raw HTML is never
// rendered. Renderer.
import { isValidElement, memo, useRef, type ComponentProps, type ReactNode } from 'react';
import ReactMarkdown, { type Components, type ExtraProps } from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import remarkGfm from 'remark-gfm';
import { CopyButton } from './CopyButton';
import { BASE_ATTR, NOSRC_ATTR, rehypeSourceOffsets, SRC_ATTR } from './sourceText';

const remarkPlugins = [remarkGfm];
// Source offsets first: they mark the elements remark made, before highlighting splits code into spans.
const rehypePlugins = [rehypeSourceOffsets, rehypeHighlight];

function languageOf(children: ReactNode): string | null {
  if (!isValidElement<{ className?: string }>(children)) return null;
  const match = /(?:^|\s)language-([\w+#.-]+)/.exec(children.props.className ?? '');
  return match ? match[1] : null;
}

function CodeBlock({ children, node: _node, ...rest }: ComponentProps<'pre'> & ExtraProps) {
  const ref = useRef<HTMLPreElement>(null);
  const language = languageOf(children);
  return (
    <div className="code-block">
      <div className="code-block-bar" {...{ [NOSRC_ATTR]: '' }}>
        <span className="code-language">{language ?? 'text'}</span>
        <CopyButton label="Copy code" showLabel className="code-copy" getText={() => ref.current?.textContent ?? ''} />
      </div>
      <pre ref={ref} {...rest}>
        {children}
      </pre>
    </div>
  );
}

function ExternalLink({ children, node: _node, href, ...rest }: ComponentProps<'a'> & ExtraProps) {
  return (
    <a {...rest} href={href} target="_blank" rel="noreferrer noopener">
      {children}
    </a>
  );
}

function ImageAsText({ alt, src }: ComponentProps<'img'> & ExtraProps) {
  return <span className="markdown-image" {...{ [NOSRC_ATTR]: '' }}>[image{alt ? `: ${alt}` : ''}{typeof src === 'string' && src ? ` — ${src}` : ''}]</span>;
}

function Table({ children, node: _node, ...rest }: ComponentProps<'table'> & ExtraProps) {
  return (
    <div className="table-scroll">
      <table {...rest}>{children}</table>
    </div>
  );
}

const components: Components = { pre: CodeBlock, a: ExternalLink, img: ImageAsText, table: Table };

/**
 * Markdown for `text`, which starts at character `base` of the message's source text (a part of it cut at
 * the horizon; negative where a reopened fence precedes it) so a selection maps back to the source
 * (./sourceText); memoised, so an unchanged message never re-parses.
 */
export const Markdown = memo(function Markdown({ text, base = 0 }: { readonly text: string; readonly base?: number }) {
  return (
    <div className="markdown" {...{ [BASE_ATTR]: base, [SRC_ATTR]: `0:${text.length}` }}>
      <ReactMarkdown remarkPlugins={remarkPlugins} rehypePlugins={rehypePlugins} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
});
