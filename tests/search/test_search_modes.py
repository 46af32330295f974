"""Search that finds what people mean (issue 21), on every backend of the behaviour suite.

CJK and Thai substrings, the last word as a prefix, one hit per session with counts, and
semantic and hybrid search with the shipped model. Encrypted databases keep their blind
index (whole words, Chinese and Japanese by character) and refuse semantic search.
"""

from __future__ import annotations

import pytest
from tests._util import eventually

from sessionhub import Hub, InvalidInput

pytestmark = pytest.mark.semantic  # the model, the vectors, the background embedding

MESSAGES = {
    "zh": "我喜欢吃苹果，你呢？",
    "ja": "昨日は東京タワーに行きました",
    "ko": "내일 서울에서 만나요",
    "th": "สวัสดีครับ ผมชื่อสมชาย",
    "en": "The Kubernetes cluster upgrade went fine",
    "en2": "cluster downtime was planned",
}


def _encrypted(hub: Hub) -> bool:
    return hub.store.encrypted


async def _seed(hub: Hub) -> dict[str, str]:
    ids = {}
    for key, text in MESSAGES.items():
        s = await hub.create_session(title=f"talk {key}")
        await hub.add_message(s.id, "user", text)
        ids[key] = s.id
    return ids


async def _found(hub: Hub, q: str) -> set[str]:
    return {h.session.id for h in await hub.search(q, mode="keyword") if h.message_id is not None}


async def test_every_script_by_substring(hub: Hub) -> None:
    """Chinese, Japanese, Korean and Thai words are found inside longer runs, with marked snippets."""
    ids = await _seed(hub)
    assert await _found(hub, "苹果") == {ids["zh"]}  # two characters
    assert await _found(hub, "喜欢吃") == {ids["zh"]}  # three: all trigrams
    assert await _found(hub, "东京") == set()  # simplified 东 is not 東
    assert await _found(hub, "東京") == {ids["ja"]}
    assert await _found(hub, "苹果汁") == set()
    hit = (await hub.search("苹果", mode="keyword"))[0]
    assert "<mark>苹果</mark>" in hit.snippet
    if _encrypted(hub):
        # The blind index cuts Han and Kana per character but keeps Hangul and Thai runs whole.
        assert await _found(hub, "서울에서") == {ids["ko"]}
        return
    assert await _found(hub, "서울") == {ids["ko"]}
    assert await _found(hub, "สมชาย") == {ids["th"]}
    assert await _found(hub, "ชื่อ") == {ids["th"]}  # Thai vowel and tone marks belong to the word
    assert await _found(hub, "苹果 kubernetes") == set()  # every term must match
    both = await hub.create_session()
    await hub.add_message(both.id, "user", "iPhone 是苹果公司的产品")
    assert await _found(hub, "iphone 苹果") == {both.id}
    # A changed or deleted text leaves the substring index with it.
    assert await _found(hub, "苹果") == {ids["zh"], both.id}
    await hub.clear_history(ids["zh"])
    assert await _found(hub, "苹果") == {both.id}


async def test_last_word_matches_as_prefix(hub: Hub) -> None:
    """``kuber`` finds Kubernetes and ``cluster upg`` finds "cluster upgrade", not "cluster downtime"."""
    ids = await _seed(hub)
    if _encrypted(hub):  # whole words only: prefixes of sealed text are not indexed
        assert await _found(hub, "kuber") == set()
        assert await _found(hub, "kubernetes") == {ids["en"]}
        return
    assert await _found(hub, "kuber") == {ids["en"]}
    assert await _found(hub, "cluster upg") == {ids["en"]}
    assert await _found(hub, "cluster") == {ids["en"], ids["en2"]}
    assert await _found(hub, "upg cluster") == set()  # only the last word is a prefix
    hit = (await hub.search("cluster upg", mode="keyword"))[0]
    assert "<mark>upgrade</mark>" in hit.snippet and "<mark>cluster</mark>" in hit.snippet


async def test_group_by_session_counts_hits(hub: Hub) -> None:
    """group="session": one hit per session, its best, with the session's number of hits."""
    many = await hub.create_session(title="release planning")
    await hub.add_messages(many.id, [{"role": "user", "content": f"release step {i}"} for i in range(12)])
    few = await hub.create_session(title="notes")
    await hub.add_messages(
        few.id, [{"role": "user", "content": "the release"}, {"role": "assistant", "content": "release it"}]
    )
    flat = await hub.search("release", limit=50, mode="keyword")
    assert len(flat) == 15  # 14 messages and one title
    grouped = await hub.search("release", limit=50, mode="keyword", group="session")
    # Counts are of messages; the title match of "release planning" adds to its rank only.
    assert sorted((h.session.id, h.count) for h in grouped) == sorted([(many.id, 12), (few.id, 2)])
    only_title = await hub.create_session(title="release notes")
    regrouped = await hub.search("release", limit=50, mode="keyword", group="session")
    assert {h.session.id: h.count for h in regrouped}[only_title.id] == 1
    assert all(h.snippet for h in grouped)
    assert [h.session.id for h in await hub.search("release", limit=1, mode="keyword", group="session")] == [
        grouped[0].session.id
    ]
    with pytest.raises(InvalidInput):
        await hub.search("release", group="thread")
    with pytest.raises(InvalidInput):
        await hub.search("release", mode="fuzzy")


UNRELATED = [
    "can you suggest a recipe for banana bread",
    "what is the capital of australia",
    "write a haiku about autumn leaves",
    "my cat keeps scratching the sofa",
    "how many calories are in an avocado",
    "recommend a good science fiction novel",
    "the weather in paris is rainy this week",
    "explain photosynthesis to a child",
    "translate good morning into spanish",
    "tips for running a first marathon",
]


async def test_semantic_and_hybrid_find_meaning(hub: Hub) -> None:
    """ "revert the release" finds "we rolled back the deployment" among unrelated sessions; encrypted: refused."""
    if _encrypted(hub):
        with pytest.raises(InvalidInput, match="encrypted"):
            await hub.search("revert the release", mode="semantic")
        assert await hub.start_semantic() is False
        return
    for i in range(3):
        for text in UNRELATED:
            s = await hub.create_session()
            await hub.add_message(s.id, "user", f"{text} ({i})")
    target = await hub.create_session()
    await hub.add_message(target.id, "assistant", "we rolled back the deployment")
    await hub.embed_pending()  # every message has its vector (a search catches up only a little)
    assert await hub.search("revert the release", mode="keyword") == []
    hits = await hub.search("revert the release", mode="semantic", limit=5)
    assert hits[0].session.id == target.id and hits[0].match == "semantic"
    assert hits[0].score > 0.45 and all(h.score >= 0.3 for h in hits)  # [search] min_similarity
    hybrid = await hub.search("revert the release", mode="hybrid", limit=5)
    assert hybrid[0].session.id == target.id
    # Both rankings agree on a keyword hit: it is marked "both" and leads.
    both = await hub.search("rolled back deployment", mode="hybrid", limit=5)
    assert both[0].session.id == target.id and both[0].match == "both" and "<mark>" in both[0].snippet
    # The default mode is hybrid with the semantic extra installed.
    assert [h.session.id for h in await hub.search("revert the release", limit=1)] == [target.id]
    # Another user's messages are never found.
    assert await hub.as_user("mallory").search("revert the release", mode="semantic") == []


async def test_background_embedding_catches_up(hub: Hub) -> None:
    """Once started, messages are embedded in the background after their append commits."""
    if _encrypted(hub):
        assert await hub.store.needs_embedding() is False
        return
    s = await hub.create_session()
    await hub.add_messages(s.id, [{"role": "user", "content": f"note number {i}"} for i in range(5)])
    assert await hub.store.needs_embedding()
    assert await hub.start_semantic()
    await eventually(lambda: _none_pending(hub), what="the backlog embedded in the background")
    await hub.add_message(s.id, "user", "one more after the start")
    hub.store.kick()  # type: ignore[attr-defined]
    await eventually(lambda: _none_pending(hub), what="a new message embedded in the background")
    assert await hub.embed_pending() == 0


async def _none_pending(hub: Hub) -> bool:
    return not await hub.store.needs_embedding()


async def test_a_search_embeds_a_few_new_messages_but_leaves_a_backlog_to_the_thread(hub: Hub) -> None:
    """A message appended a moment ago is found by meaning; a search never pays for an import."""
    if _encrypted(hub):
        return
    s = await hub.create_session()
    await hub.add_messages(s.id, [{"role": "user", "content": f"imported note {i}"} for i in range(40)])
    assert await hub.start_semantic(background=False)  # no thread: only searches embed
    store = hub.store
    await hub.search("anything at all", mode="semantic")
    assert store.embedded_total == 0  # type: ignore[attr-defined]  # 40 waiting: the thread's work
    assert await hub.embed_pending() == 40
    target = await hub.create_session()
    await hub.add_message(target.id, "assistant", "we rolled back the deployment")
    hits = await hub.search("revert the release", mode="semantic", limit=3)
    assert store.embedded_total == 41  # type: ignore[attr-defined]  # the one new message, by the search
    assert hits[0].session.id == target.id
