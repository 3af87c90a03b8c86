"""Regenerates tool_cases.json: tool-calling conversations rendered by the models' own chat templates
with `tools=` (qwen.jinja: Qwen2.5-7B-Instruct, qwen3.jinja: Qwen3-0.6B; see README.md), as
transformers' apply_chat_template renders them (jinja2 with trim_blocks and lstrip_blocks, its tojson:
json.dumps with ensure_ascii=False). Each case keeps the conversation in LLaMA-Factory's dataset form
(roles function_call / observation, the tools as one JSON string, a call as {"name", "arguments"}), the
form Factory's template plugins receive, and the reference text. Run: python3 generate_tools.py
"""
import json, os

import jinja2

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
json.dump(cases, open(os.path.join(HERE, "tool_cases.json"), "w"), ensure_ascii=False, indent=1)
print(len(cases), "cases")
