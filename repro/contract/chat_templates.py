"""The named chat templates a spec can pick (``data.chat_template: chatml``), as Jinja text.

Both planes read them: the compiler hashes the text into the data set's key, the runners
render with it. Every template wraps the assistant's turns in ``{% generation %}`` markers,
which transformers' assistant-token mask (and so TRL's ``assistant_only_loss``) needs.
"""

from __future__ import annotations

import hashlib

# repro's own: ``Q: 17+5\nA: 22</s>``, the same tokens as an instruction row
DEFAULT = (
    "{{ bos_token }}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}"
    "{{ message['content'] + '\\n' }}"
    "{%- elif message['role'] == 'user' -%}"
    "{{ 'Q: ' + message['content'] + '\\n' }}"
    "{%- elif message['role'] == 'assistant' -%}"
    "A: {% generation %}{{ message['content'] }}{{ eos_token }}{% endgeneration %}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ 'A: ' }}{%- endif -%}"
)

# ChatML (Qwen, many others): <|im_start|>role\n...<|im_end|>\n
CHATML = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
    "{%- else -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)

# Llama 3: header ids around the role, <|eot_id|> after each turn
LLAMA3 = (
    "{{ bos_token }}"
    "{%- for message in messages -%}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{%- if message['role'] == 'assistant' -%}"
    "{% generation %}{{ message['content'] | trim + '<|eot_id|>' }}{% endgeneration %}"
    "{%- else -%}"
    "{{ message['content'] | trim + '<|eot_id|>' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif -%}"
)

# Zephyr: <|role|>\n...</s>\n
ZEPHYR = (
    "{%- for message in messages -%}"
    "{{ '<|' + message['role'] + '|>\\n' }}"
    "{%- if message['role'] == 'assistant' -%}"
    "{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}{{ '\\n' }}"
    "{%- else -%}"
    "{{ message['content'] + eos_token + '\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|assistant|>\\n' }}{%- endif -%}"
)

NAMED = {"default": DEFAULT, "chatml": CHATML, "llama3": LLAMA3, "zephyr": ZEPHYR}


def template_hash(text: str) -> str:
    """``sha256:<hex>`` of a template's text (what the data key and lineage carry)."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_jinja(value: str) -> bool:
    """An inline template (rather than a name): it holds a Jinja tag or expression."""
    return "{{" in value or "{%" in value
