"""A realistic mixed corpus for measuring the token estimator against an exact encoding.

Hand-written samples (prose, chat, code, JSON, logs, Chinese, Japanese, Korean, Russian,
Arabic, Hindi, Greek, emoji, mixed) plus deterministic generated variations, so the
measurement is repeatable and ships with the tests (no download).
"""

from __future__ import annotations

import json
import random

PROSE = [
    "The quick brown fox jumps over the lazy dog. Meanwhile, the committee reconvened on Thursday "
    "to discuss the budget, which had grown by nearly 12% since the previous fiscal year.",
    "I'm not sure that's the right approach; we've tried it before and it didn't scale. "
    "Could you walk me through why you think it'll work this time?",
    "Photosynthesis converts light energy into chemical energy, storing it in the bonds of glucose. "
    "Chlorophyll absorbs mostly blue and red wavelengths, reflecting green.",
    "Hey! Can you remind me tomorrow at 9am to call the dentist? Also, what's the weather like in Berlin?",
    "In 1969, Apollo 11 landed on the Moon; Neil Armstrong and Buzz Aldrin spent about 21 hours "
    "on the lunar surface while Michael Collins orbited above.",
    "Sure, here's a summary: the migration failed because the foreign key constraint referenced "
    "a table that had not been created yet. Reordering the statements fixed it.",
    "Antidisestablishmentarianism and pneumonoultramicroscopicsilicovolcanoconiosis are famously "
    "long English words, rarely used in everyday conversation.",
    "Le café était fermé, alors nous sommes allés à la boulangerie d'à côté. Über den Wolken muss "
    "die Freiheit wohl grenzenlos sein. ¿Dónde está la estación de tren?",
    "Thanks!! That worked perfectly :) One more question -- how do I undo the last commit "
    "without losing my changes?",
    "Dear team,\n\nPlease find attached the Q3 report. Key highlights:\n- Revenue up 8.4%\n"
    "- Churn down to 2.1%\n- Two new enterprise customers\n\nBest regards,\nMaria",
]

CODE = [
    'def fibonacci(n: int) -> list[int]:\n    """Return the first n Fibonacci numbers."""\n'
    "    seq = [0, 1]\n    while len(seq) < n:\n        seq.append(seq[-1] + seq[-2])\n    return seq[:n]\n",
    "import asyncio\n\n\nasync def main() -> None:\n    async with httpx.AsyncClient(timeout=10.0) as client:\n"
    '        r = await client.get("https://example.com/api/v1/items", params={"limit": 50})\n'
    '        r.raise_for_status()\n        for item in r.json()["items"]:\n            print(item["id"], item["name"])\n',
    "function debounce(fn, wait = 300) {\n  let t;\n  return (...args) => {\n    clearTimeout(t);\n"
    "    t = setTimeout(() => fn.apply(this, args), wait);\n  };\n}\n",
    "SELECT s.id, s.title, COUNT(m.id) AS n\nFROM sessions s\nLEFT JOIN messages m ON m.session_id = s.id\n"
    "WHERE s.status = 'active' AND s.updated_at > NOW() - INTERVAL '7 days'\nGROUP BY s.id\nORDER BY n DESC\nLIMIT 20;",
    "#include <stdio.h>\n\nint main(int argc, char **argv) {\n    for (int i = 0; i < argc; ++i) {\n"
    '        printf("%d: %s\\n", i, argv[i]);\n    }\n    return 0;\n}\n',
    "fn parse(input: &str) -> Result<Vec<u32>, ParseIntError> {\n    input.split(',').map(|s| s.trim().parse::<u32>()).collect()\n}\n",
    "$ git log --oneline -3\n7a9df5d Scaffold: packaging, Makefile, CI entry\n3c1e2b0 Add store\n"
    "$ docker run -p 8080:80 -v $(pwd)/data:/data nginx:1.25\n",
    "2024-05-03T12:44:01.123Z ERROR [worker-3] Traceback (most recent call last):\n"
    '  File "/app/main.py", line 42, in handle\n    raise ValueError(f"bad id {id!r}")\nValueError: bad id \'x-19\'\n',
    '<div class="card">\n  <h2>{{ title }}</h2>\n  <p class="muted">Updated {{ updated_at | timeago }}</p>\n</div>\n',
    "body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 72ch; }\n.btn:hover { color: #0a58ca; }\n",
]

NON_LATIN = [
    "人工智能正在改变我们的生活方式。许多公司已经开始使用大型语言模型来提高工作效率。",
    "请帮我把这段文字翻译成英文，并检查语法是否正确。谢谢！",
    "北京是中国的首都，有着三千多年的历史，故宫和长城是著名的旅游景点。",
    "今日はとても良い天気ですね。週末に友達と一緒に京都へ行く予定です。",
    "このプログラムはエラーが発生しました。もう一度お試しください。",
    "東京タワーの高さは三百三十三メートルで、スカイツリーより低いです。",
    "안녕하세요! 오늘 회의는 오후 세 시에 시작합니다. 자료를 미리 준비해 주세요.",
    "Привет! Как дела? Я хотел бы узнать больше о вашем проекте и о том, как можно помочь.",
    "Москва — столица России, крупнейший по численности населения город страны.",
    "Ошибка: не удалось подключиться к базе данных. Проверьте настройки и повторите попытку.",
    "مرحبا، كيف يمكنني مساعدتك اليوم؟ أرجو أن تكون بخير.",
    "القاهرة هي عاصمة مصر وأكبر مدنها، وتقع على ضفاف نهر النيل.",
    "नमस्ते! आज मौसम बहुत अच्छा है। क्या आप मेरे साथ बाजार चलेंगे?",
    "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας και μία από τις αρχαιότερες πόλεις του κόσμου.",
    "שלום! מה שלומך? אני רוצה לקבוע פגישה למחר בבוקר.",
    "Xin chào! Hôm nay bạn có khỏe không? Tôi muốn đặt một bàn cho bốn người.",
]

EMOJI = [
    "Great job team! 🎉🎉 Launch went smoothly 🚀 see you all at the party 🍕🍺",
    "😀😃😄😁😆😅😂🤣 so funny",
    "Weather today: ☀️ 24°C, tomorrow 🌧️ 17°C. Don't forget your ☂️!",
    "❤️ thanks so much 🙏 you're the best 👍👍",
    "Status: ✅ build ✅ tests ❌ deploy ⚠️ flaky",
]

MIXED = [
    "用户说：“Please deploy version 2.3.1 to staging.” 然后 assistant 回答：OK 👍",
    "Der Fehler `KeyError: 'user_id'` tritt auf, wenn die Sitzung abgelaufen ist. Решение: обновить токен.",
    "Run `pip install -U sessionhub` then `sessionhub serve --port 8765` — ça marche! 🎯",
    "Meeting notes (会议记录): 1) budget ✔ 2) hiring ✖ 3) 次回は金曜日",
]


def _json_samples(rng: random.Random) -> list[str]:
    names = ["search_web", "get_weather", "read_file", "run_sql", "send_email"]
    cities = ["Berlin", "Tokyo", "São Paulo", "Москва", "北京", "New York"]
    out = []
    for i in range(12):
        payload = {
            "id": f"call_{rng.getrandbits(48):012x}",
            "name": rng.choice(names),
            "arguments": {
                "query": rng.choice(PROSE)[: rng.randint(10, 80)],
                "city": rng.choice(cities),
                "limit": rng.randint(1, 500),
                "score": round(rng.random() * 100, 3),
                "tags": rng.sample(["a", "beta", "gamma-ray", "x_1", "ok"], 3),
                "enabled": rng.random() < 0.5,
            },
        }
        out.append(json.dumps(payload, ensure_ascii=i % 2 == 0, indent=2 if i % 3 == 0 else None))
    return out


def _chat_samples(rng: random.Random) -> list[str]:
    pool = PROSE + CODE + NON_LATIN + EMOJI + MIXED
    return ["\n\n".join(rng.sample(pool, rng.randint(2, 4))) for _ in range(15)]


def corpus(seed: int = 4) -> list[tuple[str, str]]:
    """``(kind, text)`` samples of the mixed corpus, deterministic for a seed."""
    rng = random.Random(seed)
    samples: list[tuple[str, str]] = []
    samples += [("prose", t) for t in PROSE]
    samples += [("code", t) for t in CODE]
    samples += [("non_latin", t) for t in NON_LATIN]
    samples += [("emoji", t) for t in EMOJI]
    samples += [("mixed", t) for t in MIXED]
    samples += [("json", t) for t in _json_samples(rng)]
    samples += [("chat", t) for t in _chat_samples(rng)]
    return samples
