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

const MISTRAL =
  "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
  "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}" +
  "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

// DeepSeek-R1-Distill-Qwen (tool branches left out): past replies lose everything through `</think>`, and
// the generation prompt opens a thinking block.
const DEEPSEEK_R1 =
  "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}" +
  "{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='') %}" +
  "{%- for message in messages %}{%- if message['role'] == 'system' %}{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}" +
  "{{bos_token}}{{ns.system_prompt}}{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}" +
  "{{'<｜User｜>' + message['content']}}{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is not none %}" +
  "{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}" +
  "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor -%}" +
  "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}";

// stories260K's (../shared/models/stories260K): no turn markup, messages trimmed and joined by a space.
const STORIES260K =
  "{{ bos_token }}{% set ns = namespace(first=true) %}{% for message in messages %}{% if message['role'] != 'system' %}" +
  "{% if not ns.first %}{{ ' ' }}{% endif %}{{ message['content'] | trim }}{% set ns.first = false %}{% endif %}{% endfor %}";

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
  mistral: { name: 'Mistral', config: { chat_template: MISTRAL, bos_token: '<s>', eos_token: '</s>' } },
  deepseekR1: {
    name: 'DeepSeek-R1 distill',
    config: {
      chat_template: DEEPSEEK_R1,
      bos_token: '<｜begin▁of▁sentence｜>',
      eos_token: '<｜end▁of▁sentence｜>',
      added_tokens_decoder: added('<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜User｜>', '<｜Assistant｜>', '<think>', '</think>'),
    },
  },
  stories260K: { name: 'stories260K', config: { chat_template: STORIES260K, bos_token: '<s>', eos_token: '</s>' } },
  gemma3: { name: 'Gemma 3', config: { chat_template: GEMMA3, bos_token: '<bos>', eos_token: '<eos>', added_tokens_decoder: added('<bos>', '<eos>', '<start_of_turn>', '<end_of_turn>') } },
} satisfies Record<string, TemplateFamily>;
