"""SessionCipher's per-message fast paths: the same envelope and AAD as the field methods, same errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionhub.crypto import SessionCipher, make_aad, to_text
from sessionhub.errors import DecryptionError

SID = "ses_aaaaaaaaaaaaaaaaaaaaaaaaa"
DK = bytes(range(32))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40), st.integers(min_value=-(2**40), max_value=2**40))
def test_message_aads_are_make_aad(message_id: str, seq: int) -> None:
    c = SessionCipher(SID, DK)
    assert c._message_aads(message_id, seq) == tuple(
        make_aad("message", SID, message_id, seq, field) for field in ("content", "parts", "metadata")
    )


@settings(max_examples=40, deadline=None)
@given(st.text(), st.text(), st.text())
def test_seal_message_opens_with_the_field_methods_and_back(content: str, parts: str, meta: str) -> None:
    c = SessionCipher(SID, DK)
    sealed = c.seal_message("msg_1", 7, content, parts, meta)
    assert all(v.startswith("enc1:") for v in sealed)
    assert c.decrypt_content("msg_1", 7, sealed[0]) == content
    assert c.decrypt_parts("msg_1", 7, sealed[1]) == parts
    assert c.decrypt_message_metadata("msg_1", 7, sealed[2]) == meta
    single = (
        to_text(c.encrypt_content("msg_1", 7, content)),
        to_text(c.encrypt_parts("msg_1", 7, parts)),
        to_text(c.encrypt_message_metadata("msg_1", 7, meta)),
    )
    assert c.open_message("msg_1", 7, *single) == (content, parts, meta)
    assert c.open_message_content("msg_1", 7, single[0]) == content


def test_open_message_fails_like_the_field_methods() -> None:
    c = SessionCipher(SID, DK)
    content, parts, meta = c.seal_message("msg_1", 7, "hello", "[]", "{}")
    with pytest.raises(DecryptionError, match=r"session ses_a\w+ message msg_1 \(seq 8\) content"):
        c.open_message("msg_1", 8, content, parts, meta)  # reordered
    with pytest.raises(DecryptionError, match="message msg_2"):
        c.open_message_content("msg_2", 7, content)  # swapped
    with pytest.raises(DecryptionError, match=r"parts: authentication failed"):
        c.open_message("msg_1", 7, content, content, meta)  # field swapped
    flipped = content[:-3] + ("A" if content[-3] != "A" else "B") + content[-2:]
    with pytest.raises(DecryptionError, match="content"):
        c.open_message("msg_1", 7, flipped, parts, meta)
    with pytest.raises(DecryptionError, match="not an encrypted text value"):
        c.open_message_content("msg_1", 7, "hello")
    other = SessionCipher(SID, bytes(32))
    with pytest.raises(DecryptionError, match="key id"):
        other.open_message("msg_1", 7, content, parts, meta)


def test_plaintext_length_reads_the_envelope_only() -> None:
    c = SessionCipher(SID, DK)
    assert SessionCipher.plaintext_length(to_text(c.encrypt_preview(""))) == 0
    assert SessionCipher.plaintext_length(to_text(c.encrypt_preview("a"))) == 1
    assert SessionCipher.plaintext_length(c.encrypt_preview("héllo")) == 6
    assert SessionCipher.plaintext_length("") is None
    assert SessionCipher.plaintext_length(None) is None
    assert SessionCipher.plaintext_length("plain text") is None
    assert SessionCipher.plaintext_length("enc1:!!!") is None


def test_open_message_takes_every_stored_form_and_refuses_odd_ones_precisely() -> None:
    c = SessionCipher(SID, DK)
    blobs = (
        c.encrypt_content("msg_1", 7, "hi"),
        c.encrypt_parts("msg_1", 7, "[]"),
        c.encrypt_message_metadata("msg_1", 7, "{}"),
    )
    assert c.open_message("msg_1", 7, *blobs) == ("hi", "[]", "{}")  # BLOB/BYTEA form
    assert c.open_message("msg_1", 7, blobs[0], to_text(blobs[1]), blobs[2]) == ("hi", "[]", "{}")
    with pytest.raises(DecryptionError, match=r"parts: not an encrypted text value"):
        c.open_message("msg_1", 7, blobs[0], "[]", blobs[2])
    with pytest.raises(DecryptionError, match=r"metadata: .*too short"):
        c.open_message("msg_1", 7, blobs[0], blobs[1], blobs[2][:20])
    with pytest.raises(DecryptionError, match=r"metadata: the encrypted text is not valid base64"):
        c.open_message("msg_1", 7, blobs[0], blobs[1], "enc1:%%%")
    with pytest.raises(DecryptionError, match=r"content: expected bytes or str"):
        c.open_message("msg_1", 7, None, blobs[1], blobs[2])  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(st.text(), st.text(), st.text())
def test_a_record_opens_to_its_three_fields(content: str, parts: str, meta: str) -> None:
    c = SessionCipher(SID, DK)
    record = c.seal_record("msg_1", 7, content, parts, meta)
    assert isinstance(record, bytes)
    # Parts and metadata come back None when empty, as a plaintext row's columns.
    assert c.open_record("msg_1", 7, record) == (content, parts or None, meta or None)
    assert c.record_opener()("msg_1", 7, record) == (content, parts or None, meta or None)
    # The same envelope as every field: version 1, the key id, 37 bytes over the packed fields.
    assert record[:9] == c._header
    packed = 8 + sum(len(v.encode()) for v in (content, parts, meta))
    assert len(record) == packed + 37


@pytest.mark.parametrize("opener", ["open_record", "record_opener"])
def test_a_record_is_bound_to_its_session_message_seq_and_key(opener: str) -> None:
    """The page opener and the single open fail alike, with the precise error."""
    c = SessionCipher(SID, DK)
    record = c.seal_record("msg_1", 7, "hello", "[]", "{}")

    def opener_of(cipher: SessionCipher) -> Any:
        return cipher.open_record if opener == "open_record" else cipher.record_opener()

    open_record = opener_of(c)
    assert open_record("msg_1", 7, record) == ("hello", "[]", "{}")
    with pytest.raises(DecryptionError, match=r"session ses_a\w+ message msg_1 \(seq 8\): authentication"):
        open_record("msg_1", 8, record)  # reordered
    with pytest.raises(DecryptionError, match="message msg_2"):
        open_record("msg_2", 7, record)  # swapped
    with pytest.raises(DecryptionError, match="authentication failed"):
        opener_of(SessionCipher("ses_b" + SID[5:], DK))("msg_1", 7, record)  # another session
    flipped = bytearray(record)
    flipped[-20] ^= 1
    with pytest.raises(DecryptionError, match="authentication failed"):
        open_record("msg_1", 7, bytes(flipped))
    with pytest.raises(DecryptionError, match="too short"):
        open_record("msg_1", 7, record[:20])
    with pytest.raises(DecryptionError, match="key id"):
        opener_of(SessionCipher(SID, bytes(32)))("msg_1", 7, record)
    # A field sealed on its own never opens as a record, nor a record as a field (other AAD).
    field = c.encrypt_content("msg_1", 7, "hello")
    with pytest.raises(DecryptionError, match="authentication failed"):
        open_record("msg_1", 7, field)
    with pytest.raises(DecryptionError, match="authentication failed"):
        c.decrypt_content("msg_1", 7, record)


def test_an_authentic_record_with_impossible_lengths_is_refused() -> None:
    """Only sessionhub's own code with the key can make one (a bug, not an attack): still an
    error naming the message, never a wrong split of the fields."""
    c = SessionCipher(SID, DK)
    nonce = bytes(12)
    header = c._header + nonce
    aad = make_aad("message", SID, "msg_1", 7, "record")
    for plaintext in (
        b"\x00\x00",
        (99).to_bytes(4, "big") + (0).to_bytes(4, "big") + b"short",
        (5).to_bytes(4, "big") + (3).to_bytes(4, "big") + b"hello",  # parts promised, none there
    ):
        record = header + c._aead.encrypt(nonce, plaintext, header + aad)
        for open_record in (c.open_record, c.record_opener()):
            with pytest.raises(DecryptionError, match=r"message msg_1 .*malformed"):
                open_record("msg_1", 7, record)


def test_a_row_opener_opens_records_itself_and_hands_other_rows_on() -> None:
    c = SessionCipher(SID, DK)
    handed: list[tuple[Any, ...]] = []

    def texts(*row: Any) -> tuple[str, str | None, str | None]:
        handed.append(row)
        return "text", None, None

    open_row = c.row_opener(texts)
    record = c.seal_record("msg_1", 7, "hello", "[1]", "")
    assert open_row("msg_1", 7, record, None, None) == ("hello", "[1]", None)
    assert handed == []
    sealed = c.seal_message("msg_2", 8, "hi", "[]", "{}")
    assert open_row("msg_2", 8, *sealed) == ("text", None, None)
    assert handed == [("msg_2", 8, *sealed)]
    with pytest.raises(DecryptionError, match=r"message msg_1 \(seq 8\): authentication failed"):
        open_row("msg_1", 8, record, None, None)
    with pytest.raises(DecryptionError, match="a record is bytes"):
        c.record_opener()("msg_1", 7, "enc1:AAAA")
