"""The read cache of opened message records (crypto/opened.py): a record read again is not
decrypted again, and nothing but the very record, for the same message, seq and session cipher,
is ever answered from it."""

from __future__ import annotations

from pathlib import Path

import pytest

import sessionhub
from sessionhub.config import Settings
from sessionhub.crypto import SessionCipher, generate_master_key, to_text
from sessionhub.crypto.opened import OpenedRecords
from sessionhub.errors import ConfigError, DecryptionError

SID = "ses_aaaaaaaaaaaaaaaaaaaaaaaaa"
DK = bytes(range(32))


def records(opened: OpenedRecords) -> int:
    """The message records in the cache (session fields are cached too, keyed by their text)."""
    return sum(1 for entry in opened._items.values() if isinstance(entry[0], bytes))


def cipher(opened: OpenedRecords | None, session_id: str = SID, key: bytes = DK) -> SessionCipher:
    return SessionCipher(session_id, key, opened=opened)


def test_a_record_read_again_comes_from_the_cache() -> None:
    opened = OpenedRecords(1 << 20)
    c = cipher(opened)
    record = c.seal_record("msg_1", 7, "hello", "[1]", "")
    opened.clear()  # not the write-through: opened by the reader
    open_row = c.record_opener()
    first = open_row("msg_1", 7, record)
    assert first == ("hello", "[1]", None)
    assert open_row("msg_1", 7, bytes(record)) is first  # the same object: not decrypted again
    assert c.row_opener(lambda *row: ("x", None, None))("msg_1", 7, record) is first
    uncached = cipher(None).record_opener()
    assert uncached("msg_1", 7, record) == first
    assert uncached("msg_1", 7, record) is not uncached("msg_1", 7, record)


def test_a_sealed_record_is_in_the_cache_as_it_would_open() -> None:
    opened = OpenedRecords(1 << 20)
    c = cipher(opened)
    for parts, meta in (("", ""), ("[1]", ""), ("", '{"a":1}'), ("[2]", '{"b":2}')):
        record = c.seal_record("msg_1", 3, "text", parts, meta)
        cached = c.record_opener()("msg_1", 3, record)
        assert cached == cipher(None).record_opener()("msg_1", 3, record)
        assert c.record_opener()("msg_1", 3, record) is cached


def test_only_the_same_bytes_message_seq_and_cipher_are_answered() -> None:
    """A cached nonce never vouches for anything else: each case fails as without the cache."""
    opened = OpenedRecords(1 << 20)
    c = cipher(opened)
    record = c.seal_record("msg_1", 7, "hello", "", "")
    open_row = c.record_opener()
    assert open_row("msg_1", 7, record) == ("hello", None, None)
    assert len(opened) == 1
    tampered = bytearray(record)
    tampered[-20] ^= 1  # same nonce (the cache's key), another ciphertext
    with pytest.raises(DecryptionError, match="authentication failed"):
        open_row("msg_1", 7, bytes(tampered))
    with pytest.raises(DecryptionError, match=r"message msg_1 \(seq 8\): authentication failed"):
        open_row("msg_1", 8, record)  # moved to another seq
    with pytest.raises(DecryptionError, match="message msg_2"):
        open_row("msg_2", 7, record)  # under another message
    for other in (
        cipher(opened, session_id="ses_b" + SID[5:]),  # another session, same data key
        cipher(opened, key=bytes(32)),  # same session, another key
        cipher(opened),  # a second cipher of the same session: opens it itself
    ):
        if other._key == DK and other.session_id == SID:
            assert other.record_opener()("msg_1", 7, record) == ("hello", None, None)
            continue
        with pytest.raises(DecryptionError):
            other.record_opener()("msg_1", 7, record)
    assert open_row("msg_1", 7, record) == ("hello", None, None)  # the entry still serves its own


def test_the_cache_keeps_to_its_budget_oldest_out_first() -> None:
    opened = OpenedRecords(16 * 1024)
    c = cipher(opened)
    records = [c.seal_record(f"msg_{i}", i, "x" * 200, "", "") for i in range(200)]
    assert 0 < opened.size <= 16 * 1024
    assert len(opened) < 200
    kept = len(opened)
    newest = c.record_opener()("msg_199", 199, records[199])
    assert c.record_opener()("msg_199", 199, records[199]) is newest  # the newest stayed
    oldest = c.record_opener()("msg_0", 0, records[0])
    assert oldest == ("x" * 200, None, None)  # pushed out, opened again, cached again
    assert len(opened) <= kept + 1
    big = c.seal_record("msg_big", 1000, "y" * 2000, "", "")  # over 1/16 of the budget: not kept
    size = opened.size
    assert c.record_opener()("msg_big", 1000, big)[0] == "y" * 2000
    assert opened.size == size


def test_forget_drops_one_sessions_entries_and_clear_all() -> None:
    opened = OpenedRecords(1 << 20)
    a, b = cipher(opened), cipher(opened, session_id="ses_b" + SID[5:])
    for i in range(5):
        a.seal_record(f"msg_{i}", i, "a", "", "")
        b.seal_record(f"msg_{i}", i, "b", "", "")
    assert len(opened) == 10
    opened.forget(SID)
    assert len(opened) == 5
    opened.forget(SID)
    assert len(opened) == 5
    opened.clear()
    assert len(opened) == 0 and opened.size == 0
    with pytest.raises(ValueError):
        OpenedRecords(0)


async def test_the_store_reads_through_the_cache_and_drops_a_deleted_sessions_entries(tmp_path: Path) -> None:
    key = generate_master_key()
    async with sessionhub.open(f"sqlite:///{tmp_path / 'a.db'}", encryption_key=key) as hub:
        opened = hub.store.codec.cache.opened
        assert isinstance(opened, OpenedRecords)
        assert opened.max_bytes == 16 << 20  # [encryption] read_cache_mb's default
        s = await hub.create_session(agent="main")
        other = await hub.create_session(agent="main")
        for i in range(4):
            await hub.add_message(s.id, "user", f"message {i}")
            await hub.add_message(other.id, "user", f"other {i}")
        assert records(opened) == 8  # sealed through the cache
        opened.clear()
        first = await hub.get_history(s.id, limit=50)
        assert records(opened) == 4
        again = await hub.get_history(s.id, limit=50)
        assert [m.content for m in again] == [m.content for m in first] == [f"message {i}" for i in range(4)]
        await hub.get_history(other.id, limit=50)
        assert records(opened) == 8
        assert (await hub.get_session(s.id)).id == s.id  # its title, preview, metadata opened
        assert any(
            entry[3].session_id == s.id for entry in opened._items.values() if isinstance(entry[0], str)
        )
        await hub.delete_session(s.id)
        assert records(opened) == 4
        assert all(entry[3].session_id != s.id for entry in opened._items.values())  # its fields too
    settings = Settings.model_validate({"encryption": {"read_cache_mb": 0}})
    async with sessionhub.open(
        f"sqlite:///{tmp_path / 'a.db'}", encryption_key=key, settings=settings
    ) as hub:
        assert hub.store.codec.cache.opened is None
        assert [m.content for m in await hub.get_history(other.id, limit=50)] == [
            f"other {i}" for i in range(4)
        ]


@pytest.mark.parametrize("value", [-1, "a lot", 1.5, 70_000])
def test_read_cache_mb_is_checked(value: object) -> None:
    with pytest.raises(ConfigError, match="read_cache_mb"):
        Settings.model_validate({"encryption": {"read_cache_mb": value}})


def test_threads_reading_sealing_and_forgetting_keep_the_books_straight() -> None:
    """Readers take no lock; writers and forget do. After a storm of all three, every entry is
    counted once, the budget holds, and every answer was the right record's fields."""
    import threading

    opened = OpenedRecords(64 * 1024)
    ciphers = [cipher(opened, session_id=f"ses_{i}" + SID[5:]) for i in range(4)]
    wrong: list[str] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            c = ciphers[n]
            sealed = []
            for i in range(400):
                text = f"{n}:{i}:" + "z" * (i % 50)
                sealed.append((f"msg_{i}", i, c.seal_record(f"msg_{i}", i, text, "", ""), text))
                mid, seq, record, want = sealed[(i * 7) % len(sealed)]
                if c.record_opener()(mid, seq, record)[0] != want:
                    wrong.append(mid)
        except BaseException as exc:
            errors.append(exc)

    def forget() -> None:
        try:
            for i in range(300):
                opened.forget(ciphers[i % 4].session_id)
                if i % 50 == 0:
                    opened.clear()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)] + [threading.Thread(target=forget)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and wrong == []
    entries = list(opened._items.values())
    assert opened.size == sum(e[5] for e in entries) <= opened.max_bytes
    assert {n for nonces in opened._by_session.values() for n in nonces} == set(opened._items)


def test_a_session_field_read_again_comes_from_the_cache_for_that_field_and_cipher_only() -> None:
    opened = OpenedRecords(1 << 20)
    c = cipher(opened)
    title = to_text(c.encrypt_title("A title " * 3))
    first = c.open_session_field("title", title)
    assert first == "A title " * 3
    assert c.open_session_field("title", str(title)) is first  # a new str object, equal text
    assert len(opened) == 1
    with pytest.raises(DecryptionError, match="preview"):
        c.open_session_field("preview", title)  # the same text under another field's AAD
    with pytest.raises(DecryptionError):
        cipher(opened, session_id="ses_b" + SID[5:]).open_session_field("title", title)
    tampered = title[:-6] + ("A" if title[-6] != "A" else "B") + title[-5:]
    with pytest.raises(DecryptionError):
        c.open_session_field("title", tampered)
    assert cipher(None).open_session_field("title", title) == first
    opened.forget(SID)
    assert len(opened) == 0
