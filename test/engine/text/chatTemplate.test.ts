// ChatTemplate: rendering across model families, template selection and errors, and the system-turn
// prefix used to size the attention sinks (fixture tokenizer, stories260K, the genai Llama-2 config).
import type { ChatMessage } from '../../../common/chat';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChatTemplate, ChatTemplateError } from '../../../main/engine/text/chatTemplate';
import { TextTokenizer } from '../../../main/engine/text/tokenizer';
import { buildFixtureTokenizer } from '../../fixtures/fixtureTokenizer';
import { FAMILIES } from './chatTemplateFamilies';

const SYSTEM: ChatMessage = { role: 'system', content: 'Be brief.' };
const TURNS: ChatMessage[] = [
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'Again' },
];

function template(family: keyof typeof FAMILIES): ChatTemplate {
  return ChatTemplate.fromTokenizerConfig(FAMILIES[family].config);
}

function errorOf(fn: () => unknown): ChatTemplateError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ChatTemplateError);
    return e as ChatTemplateError;
  }
  throw new Error('expected a ChatTemplateError');
}

describe('ChatTemplate.render across families', () => {
  it.each([
    [
      'chatml',
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n' +
        '<|im_start|>user\nAgain<|im_end|>\n<|im_start|>assistant\n',
    ],
    [
      'llama3',
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi' +
        '<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAgain' +
        '<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    ],
    ['llama2', '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Again [/INST]'],
    ['phi3', '<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nAgain<|end|>\n<|assistant|>\n'],
    [
      'gemma3',
      '<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nAgain' +
        '<end_of_turn>\n<start_of_turn>model\n',
    ],
  ] as const)('%s with a system prompt and a generation prompt', (family, expected) => {
    expect(template(family).render([SYSTEM, ...TURNS], { addGenerationPrompt: true })).toBe(expected);
  });

  it('injects the default system prompt of Qwen2.5 and SmolLM2 when none is given', () => {
    expect(template('qwen25').render(TURNS.slice(0, 1), { addGenerationPrompt: true })).toBe(
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
        '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(template('smollm2').render(TURNS.slice(0, 1), { addGenerationPrompt: false })).toBe(
      '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n',
    );
  });

  it('passes special tokens given as {content} objects (Llama 2 configs) and Phi-3 appends eos without a generation prompt', () => {
    expect(template('llama2').render(TURNS.slice(0, 2), { addGenerationPrompt: false })).toBe('<s>[INST] Hi [/INST] Hello! </s>');
    expect(template('phi3').render(TURNS.slice(0, 1), { addGenerationPrompt: false })).toBe('<|user|>\nHi<|end|>\n<|endoftext|>');
  });

  it('reports raise_exception as template-raised (Gemma rejects the system role)', () => {
    const e = errorOf(() => template('gemma').render([SYSTEM, ...TURNS], { addGenerationPrompt: true }));
    expect(e.code).toBe('template-raised');
    expect(e.message).toBe('tokenizer_config.json: the chat template rejected the conversation: System role not supported');
    expect(template('gemma').render(TURNS, { addGenerationPrompt: true })).toBe(
      '<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nAgain<end_of_turn>\n<start_of_turn>model\n',
    );
    const order = errorOf(() => template('llama2').render([TURNS[1]], { addGenerationPrompt: false }));
    expect(order.message).toMatch(/roles must alternate/);
  });

  it('provides strftime_now and reports other failures as template-failed', () => {
    const dated = ChatTemplate.fromTokenizerConfig({ chat_template: '{{ strftime_now("%d %b %Y") }}' });
    expect(dated.render([], { addGenerationPrompt: false })).toMatch(/^\d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}$/);
    const broken = ChatTemplate.fromTokenizerConfig({ chat_template: '{{ messages[0].content.nosuchmethod() }}' });
    const e = errorOf(() => broken.render(TURNS, { addGenerationPrompt: false }));
    expect(e.code).toBe('template-failed');
    expect(e.message).toMatch(/^tokenizer_config\.json: the chat template failed to render/);
  });
});

describe('ChatTemplate selection and errors', () => {
  const list = [
    { name: 'default', template: 'D{{ messages[0].content }}' },
    { name: 'tool_use', template: 'T{{ messages[0].content }}' },
  ];

  it('picks "default" from a list of named templates, or a named one on request', () => {
    expect(ChatTemplate.fromTokenizerConfig({ chat_template: list }).render(TURNS, { addGenerationPrompt: false })).toBe('DHi');
    const tool = ChatTemplate.fromTokenizerConfig({ chat_template: list }, { name: 'tool_use' });
    expect(tool.templateName).toBe('tool_use');
    expect(tool.render(TURNS, { addGenerationPrompt: false })).toBe('THi');
    const single = ChatTemplate.fromTokenizerConfig({ chat_template: [list[1]] });
    expect(single.render(TURNS, { addGenerationPrompt: false })).toBe('THi');
  });

  it('names the available templates when the requested one is missing or there is no default', () => {
    const e = errorOf(() => ChatTemplate.fromTokenizerConfig({ chat_template: list }, { name: 'rag' }));
    expect(e.code).toBe('unknown-template-name');
    expect(e.message).toBe('tokenizer_config.json: chat_template has no template named "rag" (it has "default", "tool_use")');
    const noDefault = errorOf(() => ChatTemplate.fromTokenizerConfig({ chat_template: [list[1], { name: 'rag', template: 'x' }] }));
    expect(noDefault.message).toMatch(/several templates \("tool_use", "rag"\) and none named "default"/);
  });

  it('says clearly when there is no chat template, so the caller can use a raw prompt', () => {
    const e = errorOf(() => ChatTemplate.fromTokenizerConfig({ bos_token: '<s>' }));
    expect(e.code).toBe('no-chat-template');
    expect(e.message).toBe('tokenizer_config.json: the model has no chat_template; use a raw prompt instead');
    expect(ChatTemplate.tryFromTokenizerConfig({ bos_token: '<s>' })).toBeNull();
    expect(ChatTemplate.hasChatTemplate({ chat_template: '' })).toBe(false);
    expect(ChatTemplate.tryFromTokenizerConfig(FAMILIES.chatml.config)).toBeInstanceOf(ChatTemplate);
  });

  it('reports a template syntax error naming tokenizer_config.json', () => {
    const e = errorOf(() => ChatTemplate.fromTokenizerConfig({ chat_template: '{% for m in messages %}{{ m.content }}' }));
    expect(e.code).toBe('template-syntax');
    expect(e.message).toMatch(/^tokenizer_config\.json: chat_template is not valid Jinja: /);
    expect(() => ChatTemplate.tryFromTokenizerConfig({ chat_template: '{{ x' })).toThrow(ChatTemplateError);
  });
});

describe('ChatTemplate.systemPrefix', () => {
  it.each([
    ['chatml', '<|im_start|>system\nBe brief.<|im_end|>\n'],
    ['qwen25', '<|im_start|>system\nBe brief.<|im_end|>\n'],
    ['smollm2', '<|im_start|>system\nBe brief.<|im_end|>\n'],
    ['llama3', '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>'],
    [
      'llama31',
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|>',
    ],
    ['llama2', '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n'],
    ['phi3', '<|system|>\nBe brief.<|end|>\n'],
    ['gemma3', '<bos><start_of_turn>user\nBe brief.\n\n'],
  ] as const)('%s: ends exactly at the end of the system turn', (family, expected) => {
    const t = template(family);
    const prefix = t.systemPrefix([SYSTEM, ...TURNS]);
    expect(prefix).toBe(expected);
    // It is a prefix of the whole conversation, with or without a generation prompt.
    expect(t.render([SYSTEM, ...TURNS], { addGenerationPrompt: true }).startsWith(prefix!)).toBe(true);
    expect(t.render([SYSTEM, TURNS[0]], { addGenerationPrompt: false }).startsWith(prefix!)).toBe(true);
  });

  it('covers a system prompt the template trims, and a multi-line one', () => {
    const llama3 = template('llama3');
    expect(llama3.systemPromptPrefix('  Be brief.\n ')).toBe('<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>');
    expect(template('chatml').systemPromptPrefix('Line one.\n\nLine two <|im_start|>')).toBe(
      '<|im_start|>system\nLine one.\n\nLine two <|im_start|><|im_end|>\n',
    );
  });

  it('gives the injected default system turn when the conversation has none', () => {
    expect(template('qwen25').systemPrefix(TURNS)).toBe(
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n',
    );
    expect(template('smollm2').systemPrefix(TURNS)).toBe(
      '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n',
    );
    expect(template('llama31').systemPromptPrefix()).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>',
    );
  });

  it('is null when there is no system turn, or the template rejects or drops system messages', () => {
    for (const family of ['chatml', 'llama3', 'llama2', 'phi3', 'gemma3'] as const) {
      expect(template(family).systemPrefix(TURNS), family).toBeNull();
      expect(template(family).systemPromptPrefix('   '), family).toBeNull();
    }
    expect(template('gemma').systemPrefix([SYSTEM, ...TURNS])).toBeNull();
    const drops = ChatTemplate.fromTokenizerConfig({
      chat_template: "{% for m in messages %}{% if m.role != 'system' %}<|user|>{{ m.content }}<|end|>{% endif %}{% endfor %}",
    });
    expect(drops.systemPrefix([SYSTEM, ...TURNS])).toBeNull();
  });

  it('keeps the separator after the system text in a template without end-of-turn markers', () => {
    const plain = ChatTemplate.fromTokenizerConfig({
      chat_template: "{% for m in messages %}{% if m.role == 'system' %}{{ m.content }}\n\n{% else %}{{ m.role }}: {{ m.content }}{% endif %}{% endfor %}",
    });
    expect(plain.systemPrefix([SYSTEM, ...TURNS])).toBe('Be brief.\n\n');
  });

  it('tokenizes to a prefix of the conversation\'s tokens (fixture ChatML tokenizer)', () => {
    const fixture = buildFixtureTokenizer();
    const tok = TextTokenizer.fromObjects(fixture.tokenizerJson, fixture.tokenizerConfig);
    const t = ChatTemplate.fromTokenizerConfig(fixture.tokenizerConfig);
    const messages: ChatMessage[] = [{ role: 'system', content: 'You are a helpful model.' }, ...TURNS];
    const prefix = t.systemPrefix(messages)!;
    expect(prefix).toBe('<s><|im_start|>system\nYou are a helpful model.<|im_end|>\n');
    const prefixIds = tok.encode(prefix, { addSpecialTokens: false });
    const allIds = tok.encode(t.render(messages, { addGenerationPrompt: true }), { addSpecialTokens: false });
    expect(allIds.slice(0, prefixIds.length)).toEqual(prefixIds);
    expect(prefixIds[0]).toBe(fixture.specialTokens.bos);
    // The system turn's <|im_end|> is inside the prefix; only its newline follows it.
    expect(prefixIds.lastIndexOf(fixture.specialTokens.imEnd)).toBeGreaterThanOrEqual(prefixIds.length - 3);
    expect(allIds.length).toBeGreaterThan(prefixIds.length);
    expect(prefixIds.length).toBeGreaterThan(4);
  });
});

const SHARED = '/work/shared/models';
const haveShared = existsSync(`${SHARED}/stories260K/tokenizer_config.json`);

describe.skipIf(!haveShared)('ChatTemplate on the shared model configs (skipped: /work/shared/models absent)', () => {
  const read = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));

  it('stories260K: renders the non-system messages as one story after <s>, and has no system turn', () => {
    const t = ChatTemplate.fromTokenizerConfig(read(`${SHARED}/stories260K/tokenizer_config.json`));
    const messages: ChatMessage[] = [
      { role: 'system', content: 'ignored' },
      { role: 'user', content: ' Once upon a time ' },
      { role: 'assistant', content: 'there was a girl.' },
    ];
    expect(t.render(messages, { addGenerationPrompt: true })).toBe('<s>Once upon a time there was a girl.');
    expect(t.systemPrefix(messages)).toBeNull();
  });

  it('tiny-random-llama-genai-fp16: the upstream Llama-2 template renders and places the system turn', () => {
    const path = `${SHARED}/tiny-random-llama-genai-fp16/tokenizer_config.json`;
    if (!existsSync(path)) return;
    const t = ChatTemplate.fromTokenizerConfig(read(path));
    expect(t.render([SYSTEM, ...TURNS], { addGenerationPrompt: true })).toBe(
      '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Again [/INST]',
    );
    expect(t.systemPrefix([SYSTEM, ...TURNS])).toBe('<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n');
  });
});
