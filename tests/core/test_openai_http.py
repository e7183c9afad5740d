"""The one OpenAI-compatible client (ru_llm.core.openai_http) against a fake server on 127.0.0.1, and redaction."""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Iterator

import pytest
from kit.openai_server import FakeOpenAI, chat_reply, echo_key_401

from ru_llm.core.errors import ConfigError
from ru_llm.core.openai_http import (
    CallFailed,
    ChatClient,
    ChatReply,
    CompletionReply,
    RequestRefused,
    api_key,
    check_reachable,
    public_url,
    retryable,
)
from ru_llm.core.redact import redact

SECRET = "sk-test-4b1d9e-never-shown-0042"
ENV = "RU_LLM_TEST_OPENAI_KEY"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    running = FakeOpenAI()
    yield running
    running.close()


@pytest.fixture
def client(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(ENV, SECRET)

    def make(**options):  # type: ignore[no-untyped-def]
        settings = {"key_env": ENV, "what": "--judge-base-url", "backoff": 0.0, **options}
        return ChatClient(server.url, "judge", **settings)

    return make


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between tries, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(time, "sleep", waited.append)
    return waited


# -- redaction ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "HTTP 401: Incorrect API key provided: Bearer sk-abcdef123456",
            "HTTP 401: Incorrect API key provided: Bearer ***",
        ),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
        ("Incorrect API key provided: sk-proj-abc123***wxyz", "Incorrect API key provided: sk-******wxyz"),
        ('{"api_key": "abcd1234", "model": "m"}', '{"api_key": "***", "model": "m"}'),
        ("api_key=abc123&model=m", "api_key=***&model=m"),
        ("x-api-key: 0123456789", "x-api-key: ***"),
        ("https://user:pw@host:8443/v1?key=AIza123&x=1", "https://***@host:8443/v1?key=***&x=1"),
        ("login with hf_abcdefghijklmnopqrstuv", "login with hf_***"),
        ("max_tokens is 4096; the token limit", "max_tokens is 4096; the token limit"),  # words are not keys
    ],
)
def test_key_shapes_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_the_given_key_is_masked_wherever_it_is_but_a_placeholder_is_not() -> None:
    key = "plainkey-without-any-prefix"
    assert redact(f"got {key}! and ({key})", [key]) == "got ***! and (***)"
    assert redact("x marks the spot", ["x"]) == "x marks the spot"  # "x" is a no-key server's placeholder
    assert redact("nothing here", [None, ""]) == "nothing here"


def test_urls_and_statuses() -> None:
    assert public_url("https://user:pw@host:8443/v1/?key=abc#x") == "https://host:8443/v1"
    assert [s for s in (400, 401, 404, 408, 409, 425, 429, 500, 501, 502, 503, 504, 505, 520) if retryable(s)] == [
        408, 409, 425, 429, 500, 502, 503, 504, 520]  # fmt: skip


# -- answers, retries, timeouts ------------------------------------------------------------------------------
def test_an_answer_and_the_request_it_took(server: FakeOpenAI, client) -> None:  # type: ignore[no-untyped-def]
    server.script = [chat_reply("привет", finish_reason="length")]
    judge = client()
    assert judge.complete(HI, temperature=0, max_tokens=8) == ChatReply("привет", "length")
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["body"] == {"model": "judge", "messages": HI, "temperature": 0, "max_tokens": 8}
    assert request["headers"]["Authorization"] == f"Bearer {SECRET}"  # the key goes in the header only
    assert SECRET not in repr(judge) + str(vars(judge).get("url")) and judge.where == f"{server.url}/chat/completions"
    assert judge.chat(HI) == "RU:hi" and judge.stats.as_dict() == {"made": 2, "cached": 0, "retried": 0, "failed": 0}


def test_429_and_500_are_retried_with_backoff_and_retry_after(server: FakeOpenAI, client, sleeps) -> None:  # type: ignore[no-untyped-def]
    server.script = [
        (429, {"Retry-After": "7"}, {"error": {"message": "slow down"}}),
        (500, {}, {"error": {"message": "overloaded"}}),
        (503, {"Retry-After": "1000"}, {"error": {"message": "down"}}),
    ]
    judge = client(backoff=1.0, retries=4)
    assert judge.chat(HI) == "RU:hi"
    assert len(server.requests) == 4
    assert sleeps[0] == 7  # the server asked for longer than the backoff
    assert 2 <= sleeps[1] <= 2.5  # backoff 1 s doubled, plus at most a quarter of jitter
    assert sleeps[2] == 60  # Retry-After is honoured up to a minute
    assert judge.stats.as_dict() == {"made": 1, "cached": 0, "retried": 3, "failed": 0}


def test_a_persistent_5xx_fails_the_call_with_the_servers_message(server: FakeOpenAI, client, sleeps) -> None:  # type: ignore[no-untyped-def]
    server.default = lambda request: (500, {}, {"error": {"message": "CUDA out of memory"}})
    with pytest.raises(CallFailed) as caught:
        client(retries=2).chat(HI)
    error = caught.value
    assert str(error) == "--judge-base-url: HTTP 500 after 2 retries: CUDA out of memory"
    assert (error.status, error.tries, error.detail) == (500, 3, "CUDA out of memory")
    assert len(server.requests) == 3 and len(sleeps) == 2


def test_a_timeout_is_retried_then_fails_the_call(server: FakeOpenAI, client) -> None:  # type: ignore[no-untyped-def]
    server.delay = 1.0
    judge = client(timeout=0.2, retries=1)
    started = time.monotonic()
    with pytest.raises(CallFailed, match="timed out after 1 retries") as caught:
        judge.chat(HI)
    assert time.monotonic() - started < 1.5  # two tries of 0.2 s, not two of the server's 1 s
    assert caught.value.status is None and caught.value.problem == "timed out"
    assert judge.stats.as_dict() == {"made": 0, "cached": 0, "retried": 1, "failed": 1}
    server.delay = 0.0
    server.script = [lambda request: (time.sleep(0.5), chat_reply("late"))[1], chat_reply("in time")]
    assert judge.chat(HI) == "in time"  # the slow first try timed out, the retry answered


def test_no_server_is_retried_then_one_line(server: FakeOpenAI, client, sleeps) -> None:  # type: ignore[no-untyped-def]
    judge = client(retries=2)
    server.close()
    with pytest.raises(CallFailed, match=r"^--judge-base-url: connection failed \(.*\) after 2 retries$"):
        judge.chat(HI)
    assert len(sleeps) == 2


def test_other_4xx_and_bad_answers_are_not_retried(server: FakeOpenAI, client) -> None:  # type: ignore[no-untyped-def]
    server.script = [(404, {}, {"error": {"message": "The model `judge` does not exist."}})]
    with pytest.raises(RequestRefused, match="HTTP 404: The model `judge` does not exist") as caught:
        client().chat(HI)
    assert isinstance(caught.value, ConfigError) and "/v1" in caught.value.hint and len(server.requests) == 1
    server.script = [(400, {}, {"error": "bad request"}), (200, {}, {"unexpected": True})]
    with pytest.raises(RequestRefused, match="HTTP 400: bad request"):
        client().chat(HI)
    with pytest.raises(CallFailed, match=r"no choices\[0\]\.message\.content"):
        client().chat(HI)
    assert len(server.requests) == 3


def test_a_completion_with_prompt_logprobs_and_the_request_it_took(server: FakeOpenAI, client) -> None:  # type: ignore[no-untyped-def]
    logprobs = {"tokens": ["Hi", "!"], "token_logprobs": [None, -0.5], "text_offset": [0, 2]}
    choice = {"index": 0, "text": "Hi!", "logprobs": logprobs, "finish_reason": "length"}
    server.script = [(200, {}, {"choices": [choice], "usage": {"completion_tokens": 0}})]
    reply = client().completion("Hi!", echo=True, logprobs=1, max_tokens=0)
    assert reply == CompletionReply("Hi!", logprobs, "length", 0)
    (request,) = server.requests
    assert request["path"] == "/v1/completions"
    assert request["body"] == {"model": "judge", "prompt": "Hi!", "echo": True, "logprobs": 1, "max_tokens": 0}
    assert request["headers"]["Authorization"] == f"Bearer {SECRET}"


def test_completions_follow_the_same_retry_rule(server: FakeOpenAI, client, sleeps) -> None:  # type: ignore[no-untyped-def]
    done = (200, {}, {"choices": [{"text": "ok"}]})
    server.script = [(503, {"Retry-After": "3"}, {"error": {"message": "warming up"}}), done]
    assert client(backoff=1.0).completion("x", max_tokens=1) == CompletionReply("ok", None, None, None)
    assert sleeps == [3]  # Retry-After honoured, as for chat
    server.script = [(401, {}, {"error": {"message": "no key"}})]
    with pytest.raises(RequestRefused, match=r"/v1/completions: HTTP 401: no key"):
        client().completion("x")
    server.script = [(200, {}, {"choices": [{"text": "x", "logprobs": [1, 2]}]})]
    judge = client()
    with pytest.raises(CallFailed, match=r"no choices\[0\] with text and logprobs"):
        judge.completion("x")
    assert judge.stats.as_dict() == {"made": 1, "cached": 0, "retried": 0, "failed": 1}


# -- the key never shows -----------------------------------------------------------------------------------
def test_a_server_echoing_the_authorization_header_never_gets_the_key_shown(
    server: FakeOpenAI, client, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    server.script = [lambda r: (503, {}, {"error": {"message": f"busy; you sent {r['headers']['Authorization']}"}})]
    server.default = echo_key_401
    with pytest.raises(RequestRefused) as caught:
        client().chat(HI)
    error = caught.value
    assert str(error).startswith(f"--judge-base-url {server.url}/chat/completions: HTTP 401: Incorrect API key")
    assert str(error).endswith("Bearer ***") and error.detail == "Incorrect API key provided: Bearer ***"
    assert f"${ENV}" in error.hint
    assert len(server.requests) == 2 and "retry 1 of 4" in caplog.text  # the 503 was logged, then retried
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    shown = "\n".join([str(error), error.hint, error.detail, repr(error), caplog.text])
    assert SECRET not in shown and SECRET[3:] not in shown and "busy; you sent Bearer ***" in caplog.text


def test_the_key_inside_a_long_message_is_masked_before_it_is_cut(server: FakeOpenAI, client) -> None:  # type: ignore[no-untyped-def]
    server.default = lambda r: (403, {}, {"error": {"message": "x" * 190 + " key " + SECRET.removeprefix("sk-")}})
    with pytest.raises(RequestRefused) as caught:
        client().chat(HI)
    assert SECRET.removeprefix("sk-")[:6] not in str(caught.value)


def test_the_key_comes_from_the_environment_by_name(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(ConfigError, match=rf"--judge-model: no API key: the environment variable \${ENV} is not set"):
        ChatClient(server.url, "judge", key_env=ENV, key_required=True, what="--judge-model")
    ChatClient(server.url, "m", key_env=ENV, backoff=0).chat(HI)  # not required: no header at all
    assert "Authorization" not in server.requests[-1]["headers"]
    monkeypatch.setenv(ENV, f"  {SECRET}\n")  # as `export KEY=$(cat file)` may leave it
    assert api_key(ENV, what="x", required=True) == SECRET
    client = ChatClient(server.url, "m", key_env=ENV, backoff=0)
    client.chat(HI)
    assert server.requests[-1]["headers"]["Authorization"] == f"Bearer {SECRET}"
    client.close()  # forgets the key
    client.chat(HI)
    assert "Authorization" not in server.requests[-1]["headers"]
    with pytest.raises(ConfigError, match="not an http"):
        ChatClient("ftp://user:pw@host/v1", "m")


def test_credentials_in_the_url_go_in_a_basic_header_and_nowhere_else(
    server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    monkeypatch.delenv(ENV, raising=False)
    password = "pä ss:w0rd-long-enough"
    url = server.url.replace("http://", f"http://proxy-user:{urllib.parse.quote(password, safe='')}@")
    client = ChatClient(url, "m", key_env=ENV, backoff=0, retries=0)
    assert client.chat(HI) == "RU:hi"  # the host is 127.0.0.1, not "proxy-user:...@127.0.0.1"
    sent = server.requests[-1]["headers"]["Authorization"]
    assert sent == "Basic " + base64.b64encode(f"proxy-user:{password}".encode()).decode()
    assert password not in client.where and "proxy-user" not in repr(client)
    server.script = [echo_key_401]
    with pytest.raises(RequestRefused) as caught:
        client.chat(HI)
    assert base64.b64encode(f"proxy-user:{password}".encode()).decode() not in str(caught.value)
    monkeypatch.setenv(ENV, SECRET)  # a key as well: one Authorization header cannot carry both
    with pytest.raises(ConfigError, match=rf"credentials in the URL and an API key in \${ENV}"):
        ChatClient(url, "m", key_env=ENV)


def test_check_reachable(server: FakeOpenAI) -> None:
    check_reachable(server.url, what="--judge-base-url")
    url = server.url
    server.close()
    with pytest.raises(ConfigError, match="--judge-base-url .*: cannot connect"):
        check_reachable(url, what="--judge-base-url", timeout=2)
    with pytest.raises(ConfigError, match="not an http") as caught:
        check_reachable("host:8000?api_key=abc123", what="--base-url")
    assert "abc123" not in str(caught.value)
