"""Regenerates cases.json: golden renderings for the chat-template plugins.

Templates with a published Jinja chat template (<name>.jinja here, see README.md) are
rendered with jinja2 the way transformers' apply_chat_template does (trim_blocks,
lstrip_blocks, raise_exception, bos/eos strings). Templates that LLaMA-Factory defines
itself (alpaca, default, empty, vicuna) are rendered with LLaMA-Factory's own template
code (pip package llamafactory, imported with a stub for torchaudio), joining its
elements with the bos/eos strings. Run: python3 generate.py /path/to/site-or-wheel-dir
"""
import importlib.machinery, json, os, sys, types

import jinja2

HERE = os.path.dirname(os.path.abspath(__file__))
if len(sys.argv) > 1:
    sys.path.insert(0, sys.argv[1])
stub = types.ModuleType("torchaudio"); stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
sys.modules.setdefault("torchaudio", stub)
from llamafactory.data.template import TEMPLATES  # noqa: E402

CONVERSATIONS = [  # the same eight as TemplateCheck.conversations, then three more
    ("single turn, generation prompt", [("user", "Hi")], True),
    ("single turn, no generation prompt", [("user", "Hi"), ("assistant", "Hello!")], False),
    ("explicit system", [("system", "You are a pirate."), ("user", "Where is the treasure?"), ("assistant", "Arr, buried.")], False),
    ("empty system", [("system", ""), ("user", "Hi"), ("assistant", "Hello")], False),
    ("multi-turn", [("user", "1+1?"), ("assistant", "2"), ("user", "2+2?"), ("assistant", "4"), ("user", "3+3?")], True),
    ("newlines and tabs", [("user", "line one\nline two\tend"), ("assistant", "ok\n\nbye")], False),
    ("unicode", [("user", "你好 🙂 café"), ("assistant", "Bonjour — مرحبا")], False),
    ("empty content", [("user", ""), ("assistant", "")], False),
    ("system, two turns", [("system", "Answer briefly."), ("user", "Capital of France?"), ("assistant", "Paris."), ("user", "Of Italy?"), ("assistant", "Rome.")], False),
    ("system, generation prompt", [("system", "Answer briefly."), ("user", "Capital of Spain?")], True),
    ("spaces around content", [("user", "  padded question \n"), ("assistant", " padded answer  ")], False),
]

# name -> (bos, eos, jinja file or None, extra jinja variables)
TEMPLATES_UNDER_TEST = {
    "llama3": ("<|begin_of_text|>", "<|eot_id|>", "llama3.jinja", {}),
    "llama2": ("<s>", "</s>", "llama2.jinja", {}),
    "qwen": ("", "<|im_end|>", "qwen.jinja", {}),
    "qwen3": ("", "<|im_end|>", "qwen3.jinja", {}),
    "qwen3_nothink": ("", "<|im_end|>", "qwen3.jinja", {"enable_thinking": False}),
    "mistral": ("<s>", "</s>", "mistral.jinja", {}),
    "gemma": ("<bos>", "<eos>", "gemma.jinja", {}),
    "phi4": ("", "<|im_end|>", "phi4.jinja", {}),
    "zephyr": ("<s>", "</s>", "zephyr.jinja", {}),
    "vicuna": ("<s>", "</s>", None, {}),
    "default": ("<s>", "</s>", None, {}),
    "empty": ("<s>", "</s>", None, {}),
    "alpaca": ("<s>", "</s>", None, {}),
}


class TextTokenizer:
    """Just enough of a tokenizer for LLaMA-Factory's _encode: code points, bos -1, eos -2."""
    bos_token_id, eos_token_id = -1, -2

    def encode(self, text, add_special_tokens=False):
        return [ord(c) for c in text]


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def jinja_text(source, messages, generation_prompt, bos, eos, extra):
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = raise_exception
    try:
        return env.from_string(source).render(messages=messages, add_generation_prompt=generation_prompt,
                                              bos_token=bos, eos_token=eos, **extra), None
    except jinja2.exceptions.TemplateError as error:
        return None, str(error)


def llamafactory_text(name, messages, bos, eos):
    template = TEMPLATES[name]
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else None
    turns = messages[1:] if system is not None else messages
    encoded = template._encode(TextTokenizer(), turns, system, None)
    out = []
    for ids in encoded:
        out.append("".join(bos if i == -1 else eos if i == -2 else chr(i) for i in ids))
    return "".join(out)


def main():
    cases = []
    for name, (bos, eos, jinja_file, extra) in TEMPLATES_UNDER_TEST.items():
        source = open(os.path.join(HERE, jinja_file), encoding="utf-8").read() if jinja_file else None
        for title, pairs, generation_prompt in CONVERSATIONS:
            messages = [{"role": r, "content": c} for r, c in pairs]
            case = {"template": name, "name": title, "bos": bos, "eos": eos, "messages": messages,
                    "add_generation_prompt": generation_prompt, "enable_thinking": extra.get("enable_thinking")}
            if source is not None:
                case["reference"] = "jinja:" + jinja_file
                case["text"], case["error"] = jinja_text(source, messages, generation_prompt, bos, eos, extra)
            else:
                case["reference"] = "llamafactory"
                case["text"], case["error"] = llamafactory_text(name, messages, bos, eos), None
            case["llamafactory_text"] = llamafactory_text(name, messages, bos, eos)
            cases.append(case)
    with open(os.path.join(HERE, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
    differ = sorted({c["template"] for c in cases if c["text"] is not None and c["text"] != c["llamafactory_text"]})
    print(f"{len(cases)} cases; published template differs from LLaMA-Factory's rendering for: {', '.join(differ)}")


if __name__ == "__main__":
    main()
