"""Regenerates tool_cases.json: tool-calling conversations rendered by the models' own chat templates
with `tools=` where the model has one (qwen.jinja: Qwen2.5-7B-Instruct, qwen3.jinja: Qwen3-0.6B; see
README.md), as transformers' apply_chat_template renders them (jinja2 with trim_blocks and lstrip_blocks,
its tojson: json.dumps with ensure_ascii=False); for the templates whose models publish no tool format
(chatml, smollm2, llama3 = Meta-Llama-3-8B-Instruct, mistral = Mistral-7B-Instruct-v0.2; default, empty and
vicuna, which LLaMA-Factory defines itself), by
LLaMA-Factory's own template code (its default, llama3 and mistral tool formats), what an LF user trains,
with the date its llama3 format prints fixed to Llama 3.1's template default, 26 Jul 2024. Each case
keeps the conversation in LLaMA-Factory's dataset form (roles function_call / observation, the tools as
one JSON string, a call as {"name", "arguments"}), the form Factory's template plugins receive, and the
reference text. Run: python3 generate_tools.py DIR, DIR holding the llamafactory package (0.9.5).
"""
import datetime, importlib.machinery, json, os, sys, types

import jinja2

if len(sys.argv) > 1:
    sys.path.insert(0, sys.argv[1])
stub = types.ModuleType("torchaudio"); stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
sys.modules.setdefault("torchaudio", stub)
from llamafactory.data import tool_utils  # noqa: E402
from llamafactory.data.template import TEMPLATES as LF_TEMPLATES  # noqa: E402


class FixedDate(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2024, 7, 26)


tool_utils.datetime = FixedDate
# Factory's smollm2 follows SmolLM2's own template, whose default system prompt has no final period
# (LLaMA-Factory's has one): aligned here so that the cases compare the tool parts
LF_TEMPLATES["smollm2"].default_system = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

HERE = os.path.dirname(os.path.abspath(__file__))
WEATHER = {"name": "get_weather", "description": "Current weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                                                           "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                          "required": ["city"]}}
PASSWORD = {"type": "function", "function": {"name": "make_password", "description": "A random password",
                                              "parameters": {"type": "object", "properties": {"length": {"type": "integer"}}}}}

CONVERSATIONS = [  # name, system, tools, turns (LLaMA-Factory roles), add_generation_prompt
    ("call, result, answer", "You are a weather bot.", [WEATHER],
     [("user", "Weather in Paris?"), ("function_call", {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}),
      ("observation", '{"temp": 21, "sky": "clear"}'), ("assistant", "It is 21 °C and clear in Paris.")], False),
    ("no system, two calls, two results", None, [WEATHER, PASSWORD],
     [("user", "Weather in Köln and a 12-character password?"),
      ("function_call", [{"name": "get_weather", "arguments": {"city": "Köln"}}, {"name": "make_password", "arguments": {"length": 12}}]),
      ("observation", '{"temp": 9}'), ("observation", '"x7#Kq2!mZp0a"'), ("assistant", "9 °C; your password: x7#Kq2!mZp0a")], False),
    ("tools, generation prompt", None, [WEATHER], [("user", "Is it raining in Oslo?")], True),
    ("arguments as a string, multi-turn", "Be brief.", [PASSWORD],
     [("user", "Password?"), ("function_call", {"name": "make_password", "arguments": "{\"length\": 8}"}),
      ("observation", "abcd1234"), ("assistant", "abcd1234"), ("user", "Thanks!"), ("assistant", "You're welcome.")], False),
]

TEMPLATES = {"qwen": ("qwen.jinja", {}), "qwen3": ("qwen3.jinja", {}), "qwen3_nothink": ("qwen3.jinja", {"enable_thinking": False})}
# LLaMA-Factory's renderings: name -> (bos, eos)
LF_REFERENCE = {"chatml": ("", "<|im_end|>"), "smollm2": ("", "<|im_end|>"), "llama3": ("<|begin_of_text|>", "<|eot_id|>"), "mistral": ("<s>", "</s>"),
                "default": ("<s>", "</s>"), "empty": ("<s>", "</s>"), "vicuna": ("<s>", "</s>")}
# Factory's mistral renders Mistral-7B-Instruct-v0.2's layout (" [INST] {user} [/INST]"), LLaMA-Factory's the
# v0.3 one ("[INST] {user}[/INST]"): its tool format is rendered here on the v0.2 user turn, by LF's own code
import copy  # noqa: E402
from llamafactory.data.formatter import StringFormatter  # noqa: E402
LF_TEMPLATES["mistral"] = copy.copy(LF_TEMPLATES["mistral"])
LF_TEMPLATES["mistral"].format_user = StringFormatter(slots=[" [INST] {{content}} [/INST]"])


class TextTokenizer:
    """Just enough of a tokenizer for LLaMA-Factory's _encode: code points, bos -1, eos -2."""
    bos_token_id, eos_token_id = -1, -2

    def encode(self, text, add_special_tokens=False):
        return [ord(c) for c in text]


def lf_messages(turns):
    return [{"role": role, "content": content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)} for role, content in turns]


def llamafactory_text(name, system, tools, turns, bos, eos):
    # LLaMA-Factory's converter names a call "function" inside (Role.FUNCTION)
    messages = [dict(m, role="function" if m["role"] == "function_call" else m["role"]) for m in lf_messages(turns)]
    encoded = LF_TEMPLATES[name]._encode(TextTokenizer(), messages, system, json.dumps(tools, ensure_ascii=False))
    return "".join("".join(bos if i == -1 else eos if i == -2 else chr(i) for i in ids) for ids in encoded)


def hf_messages(system, turns):
    """The conversation in the form chat templates take: tool_calls on the assistant, role tool."""
    out = [{"role": "system", "content": system}] if system is not None else []
    for role, content in turns:
        if role == "function_call":
            calls = content if isinstance(content, list) else [content]
            out.append({"role": "assistant", "content": "",
                        "tool_calls": [{"type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls]})
        elif role == "observation":
            out.append({"role": "tool", "content": content})
        else:
            out.append({"role": role, "content": content})
    return out


env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
env.filters["tojson"] = lambda x, indent=None, separators=None, sort_keys=False: json.dumps(
    x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)
cases = []
for name, (file, extra) in TEMPLATES.items():
    template = env.from_string(open(os.path.join(HERE, file)).read())
    for title, system, tools, turns, generation in CONVERSATIONS:
        wrapped = [t if t.get("type") == "function" else {"type": "function", "function": t} for t in tools]
        text = template.render(messages=hf_messages(system, turns), tools=wrapped, add_generation_prompt=generation,
                               bos_token="", eos_token="<|im_end|>", **extra)
        messages = ([{"role": "system", "content": system}] if system is not None else []) + [
            {"role": role, "content": content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)} for role, content in turns]
        cases.append({"template": name, "name": title, "messages": messages, "tools": json.dumps(tools, ensure_ascii=False),
                      "add_generation_prompt": generation, "enable_thinking": extra.get("enable_thinking"), "text": text})
for name, (bos, eos) in LF_REFERENCE.items():
    for title, system, tools, turns, generation in CONVERSATIONS:
        if generation:
            continue  # LLaMA-Factory renders finished conversations only
        if sum(1 for role, _ in turns if role == "observation") > 1:
            continue  # LLaMA-Factory writes an assistant header after every tool result, even between two; Factory does not
        messages = ([{"role": "system", "content": system}] if system is not None else []) + lf_messages(turns)
        cases.append({"template": name, "name": title, "messages": messages, "tools": json.dumps(tools, ensure_ascii=False),
                      "add_generation_prompt": False, "enable_thinking": None, "bos": bos, "eos": eos,
                      "reference": "llamafactory", "text": llamafactory_text(name, system, tools, turns, bos, eos)})
json.dump(cases, open(os.path.join(HERE, "tool_cases.json"), "w"), ensure_ascii=False, indent=1)
print(len(cases), "cases")
