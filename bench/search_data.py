"""Data for the search benchmark (bench/search_bench.py): mixed-script chat and a labelled set.

- ``mixed_sessions``: bench/datagen.py's English conversations, with every 20th message
  replaced by a sentence in Chinese, Japanese, Korean or Thai built from a small vocabulary
  (so a CJK query has a few thousand hits in a million messages, like a mid-frequency word).
- ``LABELLED``: a small labelled set for ranking quality. Each topic is one conversation
  (three messages) hidden among generated conversations, and two queries that should find it:
  one that shares words with it, one that only shares its meaning (a paraphrase). Recall@5
  and MRR are reported for keyword, semantic and hybrid search side by side.
"""

from __future__ import annotations

import random

from .datagen import ChatMessage, session_messages

CJK_WORDS = {
    "zh": [
        "苹果",
        "香蕉",
        "数据库",
        "服务器",
        "部署",
        "回滚",
        "测试",
        "用户",
        "会话",
        "搜索",
        "索引",
        "性能",
        "问题",
        "版本",
        "升级",
        "集群",
        "配置",
        "错误",
        "日志",
        "缓存",
        "今天",
        "明天",
        "会议",
        "项目",
    ],
    "ja": [
        "東京",
        "会議",
        "資料",
        "設定",
        "確認",
        "予定",
        "サーバー",
        "データ",
        "検索",
        "更新",
        "失敗",
        "成功",
        "明日",
        "今日",
        "問題",
        "報告",
        "画面",
        "接続",
    ],
    "ko": [
        "서울",
        "회의",
        "내일",
        "서버",
        "배포",
        "확인",
        "데이터",
        "검색",
        "문제",
        "보고서",
        "오늘",
        "연결",
        "사용자",
        "설정",
    ],
    "th": [
        "สวัสดี",
        "ข้อมูล",
        "ระบบ",
        "ทดสอบ",
        "ประชุม",
        "พรุ่งนี้",
        "วันนี้",
        "เซิร์ฟเวอร์",
        "ปัญหา",
        "รายงาน",
        "ผู้ใช้",
        "ค้นหา",
    ],
}
_JOIN = {"zh": "", "ja": "", "ko": " ", "th": ""}
_END = {"zh": "。", "ja": "。", "ko": ".", "th": " "}


def cjk_sentence(rng: random.Random) -> str:
    lang = rng.choice(sorted(CJK_WORDS))
    words = [rng.choice(CJK_WORDS[lang]) for _ in range(rng.randint(6, 14))]
    particles = {"ja": ["の", "は", "を", "に"], "ko": ["에서", "를", "는"]}.get(lang, [""])
    return _JOIN[lang].join(w + rng.choice(particles) for w in words) + _END[lang]


def mixed_sessions(name: str, sessions: int, per_session: int) -> list[list[ChatMessage]]:
    rng = random.Random(f"{name}:cjk")
    out: list[list[ChatMessage]] = []
    n = 0
    for i in range(sessions):
        messages = list(session_messages(name, i, per_session))
        for m in messages:
            n += 1
            if n % 20 == 0:
                m["content"] = cjk_sentence(rng)
        out.append(messages)
    return out


def cjk_queries(count: int) -> list[str]:
    """Two-character words and three-to-four character substrings of the CJK vocabulary."""
    rng = random.Random("cjk-queries")
    words = [w for lang in ("zh", "ja", "ko", "th") for w in CJK_WORDS[lang] if len(w) >= 2]
    out = []
    while len(out) < count:
        w = rng.choice(words)
        if len(w) > 3 and rng.random() < 0.5:
            start = rng.randint(0, len(w) - 3)
            w = w[start : start + 3]
        out.append(w)
    return out


# (conversation, query sharing words, paraphrase query sharing none of the content words)
LABELLED: list[tuple[list[str], str, str]] = [
    (["the deploy broke checkout", "we rolled back the deployment", "error rate is normal again"],
     "rolled back deployment", "revert the release"),
    (["my laptop battery dies after an hour", "check which apps drain power", "it was the browser"],
     "laptop battery", "notebook runs out of charge quickly"),
    (["how do I make sourdough bread", "feed the starter the night before", "bake at 250 degrees"],
     "sourdough bread", "baking a loaf with natural yeast"),
    (["the postgres queries are slow", "add an index on customer_id", "latency dropped to 5 ms"],
     "postgres index", "database lookups take too long"),
    (["book a flight to lisbon in may", "prices are lowest on tuesdays", "window seat please"],
     "flight lisbon", "plane tickets to portugal"),
    (["my dog keeps barking at night", "try more exercise in the evening", "a calmer routine helped"],
     "dog barking", "puppy noisy after dark"),
    (["write a cover letter for a nurse job", "mention the icu experience", "keep it to one page"],
     "cover letter nurse", "application for a hospital position"),
    (["the kubernetes pod is crashlooping", "the liveness probe fails", "raise the timeout"],
     "kubernetes pod", "container keeps restarting"),
    (["plan a vegetarian dinner for six", "a lentil curry and rice", "mango lassi for dessert"],
     "vegetarian dinner", "meatless meal for guests"),
    (["my electricity bill doubled", "the heater runs all day", "set a thermostat schedule"],
     "electricity bill", "energy costs went up"),
    (["learn spanish in three months", "practise twenty minutes daily", "watch films with subtitles"],
     "learn spanish", "studying a foreign language fast"),
    (["the wifi drops every few minutes", "change the router channel", "it is stable now"],
     "wifi drops", "internet connection keeps cutting out"),
    (["I sprained my ankle running", "rest ice and elevate it", "see a doctor if it swells"],
     "sprained ankle", "hurt my foot while jogging"),
    (["the invoice total is wrong", "tax was applied twice", "we issued a corrected invoice"],
     "invoice total", "billing mistake on the statement"),
    (["our team retro is on friday", "collect what went well", "pick two action items"],
     "team retro", "meeting to review the sprint"),
    (["convert the video to mp4", "use ffmpeg with h264", "the file is half the size"],
     "convert video mp4", "change the movie file format"),
    (["the plant leaves turn yellow", "you water it too often", "let the soil dry out"],
     "plant leaves yellow", "houseplant looks sick"),
    (["set up two factor authentication", "use an authenticator app", "save the backup codes"],
     "two factor authentication", "secure my login with a phone code"),
    (["the baby does not sleep through the night", "keep a bedtime routine", "dim the lights early"],
     "baby sleep", "infant wakes up at night"),
    (["rent a car in iceland", "a four wheel drive for winter", "insurance covers gravel"],
     "rent car iceland", "hire a vehicle for a nordic road trip"),
]  # fmt: skip


__all__ = ["CJK_WORDS", "LABELLED", "cjk_queries", "cjk_sentence", "mixed_sessions"]
