"""Reference scores for Factory's predict metrics (SimilarityTests): LLaMA-Factory's ComputeSimilarity
(llamafactory/train/sft/metric.py) applied to prediction/label pairs generated here.

Run in a throwaway environment:
    python3 -m venv /tmp/metrics-venv && /tmp/metrics-venv/bin/pip install jieba==0.42.1 nltk==3.10.4 rouge-chinese==1.0.3 numpy
    /tmp/metrics-venv/bin/python generate.py > similarity.json

Per pair: jieba's words of both texts, ROUGE-1/2/L F (rouge_chinese over the words joined by spaces) and
sentence BLEU-4 (nltk, characters, smoothing method 3), each ×100 and rounded to 4 digits, exactly as
LLaMA-Factory's metric does; then the means as LLaMA-Factory reports them (numpy's mean of each list).
"""
import json
import random

import jieba
import numpy as np
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from rouge_chinese import Rouge

ENGLISH = [
    "I am an AI assistant developed by Factory, here to help you with your questions.",
    "The capital of France is Paris, which is known for the Eiffel Tower.",
    "To make a cup of tea, boil water, add the tea leaves and wait three minutes.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Python 3.11 is about 25% faster than Python 3.10 on many benchmarks.",
    "C++ and C# are programming languages; AT&T built Unix in the 1970s.",
    "Hello! How can I help you today?",
    "Yes.",
    "The answer is 42.",
    "First, open the file. Second, read each line. Third, close it again.",
    "Rain is expected tomorrow, so bring an umbrella... or stay home.",
    "He said: \"It works on my machine\" — and left.",
    "Numbers like 3.14, 2.718 and 1e-6 appear in science all the time.",
    "e-mail, x-ray and T-shirt contain hyphens; so does state-of-the-art.",
    "A B C D E F G",
    "what is the time? it is late!  Go to bed?",
]
CHINESE = [
    "我是一个人工智能助手，很高兴为您服务。",
    "北京是中华人民共和国的首都，也是政治和文化中心。",
    "今天天气很好，我们一起去公园散步吧！",
    "机器学习是人工智能的一个重要分支，研究计算机如何从数据中学习。",
    "请问您需要什么帮助？我可以回答问题、写文章或者翻译。",
    "小明每天早上七点起床，然后吃早饭去上学。",
    "他说：“这个问题很难。”然后就离开了。",
    "长江是中国最长的河流，全长约六千三百公里。",
    "我们应该保护环境，减少塑料的使用。",
    "这家餐厅的菜很好吃，价格也不贵……下次还来。",
    "深度学习模型需要大量的数据和计算资源。",
    "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。",
    "他买了一件T恤和一台BP机，还去做了B超检查。",
    "自然语言处理包括分词、词性标注和命名实体识别等任务。",
    "王小二和李大明是好朋友，他们经常一起打篮球。",
    "2023年的经济增长率为5.2%，高于预期。",
]
MIXED = [
    "我正在学习Python和C++编程，已经学了3个月。",
    "SmolLM2是一个小型语言模型，只有135M参数。",
    "请用English回答：What is 机器学习?",
    "iPhone 15的价格是5999元。",
    "Factory可以用LoRA微调大语言模型。",
]
EDGES = [
    ("", "reference text"), ("prediction", ""), ("", ""), ("   ", "x"), ("x", " \n "),
    ("a", "a"), ("ab", "ab"), ("abc", "abd"), ("？", "？"), ("。", "。。"),
    ("x? \ny", "x? y"), ("好吗？”他问。", "好吗？”他问道。"), ("等等......然后呢", "等等......然后"),
    ("……………好", "……好"), ("the the the the", "the cat the mat"), ("。。。", "。"),
    ("A\tB\u3000C", "A B C"), ("1.5%", "1.5 %"), ("C++", "c++"), ("AT&T", "AT & T"),
    ("东西南北", "东南西北"), ("\u00a0空格\u00a0", "空格"), ("!?!?", "?!?!"), ("\u2028分行", "分行"),
]


def mutate(text, rng):
    """A plausible model answer: words or characters dropped, swapped, repeated or replaced."""
    words = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    out = list(words)
    for _ in range(rng.randint(0, 4)):
        if not out:
            break
        i = rng.randrange(len(out))
        kind = rng.random()
        if kind < 0.3:
            del out[i]
        elif kind < 0.55 and len(out) > 1:
            j = rng.randrange(len(out))
            out[i], out[j] = out[j], out[i]
        elif kind < 0.75:
            out.insert(i, out[i])
        else:
            donor = rng.choice(ENGLISH + CHINESE + MIXED)
            piece = donor.split(" ") if " " in donor else list(donor)
            out[i] = rng.choice(piece)
    result = joiner.join(out)
    if rng.random() < 0.2:
        result = result + rng.choice(["\n", " ", "！", "?", "。", "..."])
    if rng.random() < 0.1:
        result = result[: rng.randrange(len(result) + 1)]
    return result


def scores(pred, label):
    """LLaMA-Factory's ComputeSimilarity for one decoded pair."""
    hypothesis = list(jieba.cut(pred))
    reference = list(jieba.cut(label))
    if len(" ".join(hypothesis).split()) == 0 or len(" ".join(reference).split()) == 0:
        result = {"rouge-1": {"f": 0.0}, "rouge-2": {"f": 0.0}, "rouge-l": {"f": 0.0}}
    else:
        result = Rouge().get_scores(" ".join(hypothesis), " ".join(reference))[0]
    row = {"predict": pred, "label": label, "predict_words": hypothesis, "label_words": reference}
    for k, v in result.items():
        row[k] = round(v["f"] * 100, 4)
    row["bleu-4"] = round(sentence_bleu([list(label)], list(pred), smoothing_function=SmoothingFunction().method3) * 100, 4)
    return row


def main():
    jieba.setLogLevel(60)
    rng = random.Random(20261207)
    pairs = list(EDGES)
    texts = ENGLISH + CHINESE + MIXED
    for label in texts:
        pairs.append((label, label))
    while len(pairs) < 400:
        label = rng.choice(texts)
        pairs.append((mutate(label, rng), label if rng.random() < 0.8 else mutate(label, rng)))
    rows = [scores(p, l) for p, l in pairs]
    means = {k: float(np.mean([r[k] for r in rows])) for k in ["rouge-1", "rouge-2", "rouge-l", "bleu-4"]}
    print(json.dumps({"generator": "generate.py: jieba 0.42.1, nltk 3.10.4, rouge-chinese 1.0.3", "means": means, "pairs": rows},
                     ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
