// Chat templates of common model families, written out for the chat template tests (test process only).
// Faithful to the tokenizer_config.json chat_template of each family (string content only, no tools).

/** A template plus the special-token fields its tokenizer_config.json carries. */
export interface TemplateFamily {
  readonly name: string;
  readonly config: Record<string, unknown>;
}

function added(...contents: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  contents.forEach((content, i) => {
    out[String(1000 + i)] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  });
  return out;
}

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const QWEN25 = `{%- if messages[0]['role'] == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- else %}
    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
`;

const SMOLLM2 =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
  "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}" +
  "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const LLAMA3 =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + " +
  "'<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}" +
  "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

const LLAMA31 = `{{- bos_token }}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
`;

const LLAMA2 =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}" +
  "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}" +
  "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}" +
  "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}" +
  "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

const PHI3 =
  "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}" +
  "{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}" +
  "{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}";

const GEMMA =
  "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}" +
  "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
  "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}" +
  "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";

const GEMMA3 = `{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}
    {{- message['content'] | trim -}}
    {{ '<end_of_turn>\\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\\n'}}
{%- endif -%}
`;

export const FAMILIES = {
  chatml: { name: 'ChatML', config: { chat_template: CHATML, eos_token: '<|im_end|>', added_tokens_decoder: added('<|im_start|>', '<|im_end|>') } },
  qwen25: {
    name: 'Qwen2.5',
    config: { chat_template: QWEN25, eos_token: '<|im_end|>', pad_token: '<|endoftext|>', bos_token: null, added_tokens_decoder: added('<|endoftext|>', '<|im_start|>', '<|im_end|>') },
  },
  smollm2: {
    name: 'SmolLM2',
    config: { chat_template: SMOLLM2, bos_token: '<|im_start|>', eos_token: '<|im_end|>', added_tokens_decoder: added('<|endoftext|>', '<|im_start|>', '<|im_end|>') },
  },
  llama3: {
    name: 'Llama-3',
    config: { chat_template: LLAMA3, bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>', added_tokens_decoder: added('<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>') },
  },
  llama31: {
    name: 'Llama-3.1',
    config: { chat_template: LLAMA31, bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>', added_tokens_decoder: added('<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>') },
  },
  llama2: {
    name: 'Llama-2',
    config: {
      chat_template: LLAMA2,
      bos_token: { __type: 'AddedToken', content: '<s>', lstrip: false, normalized: false, rstrip: false, single_word: false },
      eos_token: { __type: 'AddedToken', content: '</s>', lstrip: false, normalized: false, rstrip: false, single_word: false },
    },
  },
  phi3: {
    name: 'Phi-3',
    config: { chat_template: PHI3, bos_token: '<s>', eos_token: '<|endoftext|>', added_tokens_decoder: added('<|endoftext|>', '<|system|>', '<|user|>', '<|assistant|>', '<|end|>') },
  },
  gemma: { name: 'Gemma', config: { chat_template: GEMMA, bos_token: '<bos>', eos_token: '<eos>', added_tokens_decoder: added('<bos>', '<eos>', '<start_of_turn>', '<end_of_turn>') } },
  gemma3: { name: 'Gemma 3', config: { chat_template: GEMMA3, bos_token: '<bos>', eos_token: '<eos>', added_tokens_decoder: added('<bos>', '<eos>', '<start_of_turn>', '<end_of_turn>') } },
} satisfies Record<string, TemplateFamily>;
