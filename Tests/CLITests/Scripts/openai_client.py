"""Drives `factory api` with the official openai Python client, as a user's program would.
Usage: python openai_client.py BASE_URL API_KEY MODEL
Prints one JSON line with what each call returned (texts, finish reasons, usage, error statuses)."""
import json, sys
import openai

base, key, model = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base, api_key=key, max_retries=0)
messages = [{"role": "user", "content": "Who are you?"}]
out = {"models": [m.id for m in client.models.list().data]}

r = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=16)
out["chat"] = {"text": r.choices[0].message.content, "finish": r.choices[0].finish_reason, "usage": r.usage.model_dump()}

text, finish, usage = "", None, None
for chunk in client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=16, stream=True,
                                            stream_options={"include_usage": True}):
    if chunk.usage: usage = chunk.usage.model_dump()
    for c in chunk.choices:
        text += c.delta.content or ""
        finish = c.finish_reason or finish
out["stream"] = {"text": text, "finish": finish, "usage": usage}

r = client.chat.completions.create(model=model, messages=messages, temperature=0.9, top_p=0.9, max_tokens=8, n=2, seed=7)
out["n"] = [c.message.content for c in r.choices]

stop_word = out["chat"]["text"].split()[1] if len(out["chat"]["text"].split()) > 1 else "the"
r = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=16, stop=[stop_word])
out["stop"] = {"word": stop_word, "text": r.choices[0].message.content, "finish": r.choices[0].finish_reason}

r = client.completions.create(model=model, prompt="The capital of France is", temperature=0, max_tokens=8)
out["completion"] = {"text": r.choices[0].text, "usage": r.usage.model_dump()}

repeat = dict(model=model, prompt="1 1 1 1 1 1 1 1 1 1 1 1", temperature=0, max_tokens=12)
out["repeat"] = client.completions.create(**repeat).choices[0].text
out["penalized"] = client.completions.create(frequency_penalty=2.0, presence_penalty=0.5, **repeat).choices[0].text

# a client that goes away mid-stream: its generation stops (the server logs how many tokens it made)
import threading, time, urllib.request
stream = client.completions.create(model=model, prompt="1 1 1 1 1 1", temperature=0, max_tokens=1500, stream=True)
for i, chunk in enumerate(stream):
    if i == 3: break
stream.close()
client.completions.create(model=model, prompt="Hello", temperature=0, max_tokens=4)

def metric(name):
    text = urllib.request.urlopen(base.rsplit("/v1", 1)[0] + "/metrics").read().decode()
    return int(float(next(l.split()[1] for l in text.splitlines() if l.startswith(name + " "))))

# continuous batching: two greedy questions at once decode together (the batch size the server reports while
# they run) and answer exactly what each answers alone
questions = ["Who are you?", "What is the capital of France?"]
alone = [client.chat.completions.create(model=model, messages=[{"role": "user", "content": q}], temperature=0, max_tokens=48)
         .choices[0].message.content for q in questions]
together, widest, running = [None, None], [0], [True]
def ask(i):
    try:
        together[i] = client.chat.completions.create(model=model, messages=[{"role": "user", "content": questions[i]}], temperature=0,
                                                     max_tokens=48).choices[0].message.content
    except Exception as e:  # a thread's exception would vanish: keep it, so the failing comparison shows why
        together[i] = f"request failed: {e!r}"

def watch():
    while running[0]:
        widest[0] = max(widest[0], metric("factory_batch_size"))
        time.sleep(0.01)
threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
watcher = threading.Thread(target=watch); watcher.start()
for t in threads: t.start()
for t in threads: t.join()
running[0] = False; watcher.join()
out["batched"] = {"alone": alone, "together": together, "widest_batch": widest[0]}

# several adapters over one base (the server's api_adapters): each alone, then the three at once
names = [model, "identity", "untrained"]
question = [{"role": "user", "content": "Who are you?"}]
alone = {m: client.chat.completions.create(model=m, messages=question, temperature=0, max_tokens=24).choices[0].message.content for m in names}
together, widest, running = {}, [0], [True]
def ask_as(m):
    try:
        together[m] = client.chat.completions.create(model=m, messages=question, temperature=0, max_tokens=24).choices[0].message.content
    except Exception as e:  # a thread's exception would vanish: keep it, so the failing comparison shows why
        together[m] = f"request failed: {e!r}"

threads = [threading.Thread(target=ask_as, args=(m,)) for m in names]
watcher = threading.Thread(target=watch); watcher.start()
for t in threads: t.start()
for t in threads: t.join()
running[0] = False; watcher.join()
out["adapters"] = {"alone": alone, "together": together, "widest_batch": widest[0]}

# back-pressure: 2 rows and 2 places in the queue (the server's config); 6 long requests at once: the ones
# that find no place get 503 at once, in OpenAI's error shape
codes = [None] * 6
def long(i):
    try:
        client.completions.create(model=model, prompt="1 1 1 1", temperature=0, max_tokens=120)
        codes[i] = 200
    except openai.APIStatusError as e:
        codes[i] = e.status_code if "error" in e.response.json() else -1
threads = [threading.Thread(target=long, args=(i,)) for i in range(6)]
for t in threads: t.start()
for t in threads: t.join()
out["crowd"] = codes
out["queue_after"] = metric("factory_queue_depth")

# tool calls: a conversation that called get_weather once (rendered in the smollm2 template's tool format,
# LLaMA-Factory's default Action / Action Input), then a new question: SmolLM2 calls the tool again, read back
# as tool_calls whole and streamed (the name first, then the arguments in pieces)
tools = [{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city"}}, "required": ["city"]}}}]
history = [{"role": "user", "content": "What is the weather in Berlin?"},
           {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
                                                                  "function": {"name": "get_weather", "arguments": "{\"city\": \"Berlin\"}"}}]},
           {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 20 C"},
           {"role": "assistant", "content": "It is sunny and 20 C in Berlin."},
           {"role": "user", "content": "What is the weather in Paris?"}]
r = client.chat.completions.create(model=model, messages=history, tools=tools, temperature=0, max_tokens=40)
m = r.choices[0].message
out["tool_call"] = {"finish": r.choices[0].finish_reason, "content": m.content,
                    "calls": [{"id": c.id, "name": c.function.name, "arguments": c.function.arguments} for c in m.tool_calls or []]}
calls, finish, pieces, content = {}, None, 0, ""
for chunk in client.chat.completions.create(model=model, messages=history, tools=tools, temperature=0, max_tokens=40, stream=True):
    for c in chunk.choices:
        content += c.delta.content or ""
        finish = c.finish_reason or finish
        for d in c.delta.tool_calls or []:
            call = calls.setdefault(d.index, {"id": None, "name": None, "arguments": "", "name_first": None})
            if d.id: call["id"] = d.id
            if d.function and d.function.name:
                call["name"] = d.function.name
                if call["name_first"] is None: call["name_first"] = call["arguments"] == ""
            if d.function and d.function.arguments:
                call["arguments"] += d.function.arguments; pieces += 1
out["tool_stream"] = {"finish": finish, "content": content, "calls": [calls[i] for i in sorted(calls)], "argument_pieces": pieces}
out["tool_choice_none"] = client.chat.completions.create(model=model, messages=history, tools=tools, tool_choice="none", temperature=0,
                                                         max_tokens=40).choices[0].message.content

def status(call):
    try:
        call()
        return 200
    except openai.APIStatusError as e:
        return e.status_code
out["wrong_key"] = status(lambda: openai.OpenAI(base_url=base, api_key="wrong", max_retries=0).chat.completions.create(model=model, messages=messages, max_tokens=2))
out["unknown_model"] = status(lambda: client.chat.completions.create(model="no-such-model", messages=messages, max_tokens=2))
out["bad_field"] = status(lambda: client.chat.completions.create(model=model, messages=messages, temperature=5))
out["forced_tool"] = status(lambda: client.chat.completions.create(model=model, messages=messages, tools=tools, tool_choice="required", max_tokens=2))
out["too_large"] = status(lambda: client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x" * (5 << 20)}], max_tokens=2))
print(json.dumps(out))
