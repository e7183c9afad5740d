"""The model side of evaluation: what ``register_eval_models`` expects, and the settings a model is made from.

As lm-evaluation-harness's ``LM``, a model answers requests in batches and never sees a task. Unlike it, a
model implements only the calls it can answer, each a small runtime-checkable protocol, instead of raising
from the others: a served chat model has no log-likelihoods, a completions server no chat template.

* :class:`EvalModel`: every model (what the results file and the caches record about it, ``fits``);
* :class:`ScoresLoglikelihood`: ``loglikelihood`` (:class:`~ru_llm.eval.task.ChoiceRequest`, MMLU) and
  ``loglikelihood_rolling`` (:class:`~ru_llm.eval.task.RollingRequest`, perplexity);
* :class:`Generates`: ``generate`` (:class:`~ru_llm.eval.task.GenerateRequest`, copy, speed);
* :class:`Chats`: ``chat`` (:class:`ChatRequest`, the judged benchmarks);
* :class:`Tokenizes`: ``tokenize_stats`` (:class:`~ru_llm.eval.task.TokenizeRequest`, tokenizer_efficiency).

A model kind (:class:`EvalModelKind`: ``hf``, ``openai-chat``, ``openai-completions`` or a plugin's) makes
models from :class:`ModelSettings`; ``ru-llm eval run --model-kind NAME`` picks it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ru_llm.eval.task import ChoiceRequest, GenerateRequest, Generation, RollingRequest, TokenizeRequest

if TYPE_CHECKING:
    from ru_llm.core.openai_http import CallStats

Progress = Callable[[int], None]  # a progress bar's advance(n)
OPENAI_PREFIX = "openai:"  # --model openai:NAME: the openai-chat kind, as before --model-kind existed


@dataclass
class ModelSettings:
    """What the user chose about the model; each kind reads what concerns it."""

    model: str  # a directory or hub id (hf); the model's name on its server (openai-*)
    adapter: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int | None = None  # None: auto (by tokens per batch)
    max_length: int | None = None  # None: the model's (context_length), as lm-eval
    add_bos: bool | None = None  # None: as the tokenizer does (LLaMA, Gemma: a BOS; Qwen: none), as lm-eval
    chat_template: bool = False
    trust_remote_code: bool = False
    prefix_cache: bool = True  # run a prefix that requests share once (ChoiceRequest.prefix); same numbers
    # the kind and its server; left out of cache keys while at their defaults, so older caches stay valid
    kind: str | None = None  # None: hf, or openai-chat for a model named openai:NAME
    base_url: str | None = None  # openai-*: the server's …/v1 URL
    api_key_env: str = "OPENAI_API_KEY"  # openai-*: the environment variable holding the key (may be unset)
    concurrency: int = 8  # openai-*: requests in flight at once
    timeout: float = 120.0  # openai-*: seconds a request may take
    retry_backoff: float = 1.0  # openai-*: the first wait before a retry, doubled each time
    logprobs: int = 1  # openai-completions: the ``logprobs`` asked for (some servers want more than 0)
    options: dict[str, Any] = field(default_factory=dict)  # a plugin kind's own (--model-option KEY=VALUE)

    @property
    def kind_name(self) -> str:
        """The model kind these settings name: ``kind``, else ``openai-chat`` for ``openai:NAME``, else ``hf``."""
        if self.kind:
            return self.kind
        return "openai-chat" if self.model.startswith(OPENAI_PREFIX) else "hf"


@dataclass(frozen=True)
class ChatRequest:
    """A reply to ``messages`` (OpenAI's ``{"role", "content"}``), generated with ``params``: transformers'
    names (``max_new_tokens``, ``do_sample``, ``temperature``, ``top_p``, ``top_k``, ``repetition_penalty``,
    ...); a server model sends the ones its API has (:func:`ru_llm.eval.models.openai_chat.openai_params`)."""

    messages: tuple[dict[str, str], ...]
    params: dict[str, Any] = field(default_factory=dict, hash=False)


@runtime_checkable
class EvalModel(Protocol):
    """Any model ``eval run`` can evaluate; the calls it answers are the capability protocols below."""

    #: where it runs, for the results file (``cpu``, ``cuda:0``; ``remote`` for a server)
    device: str
    #: the context prompts must fit, in tokens (``None``: unknown, e.g. a server)
    max_length: int | None
    #: server calls made, cached, retried and failed (``None``: no server)
    stats: CallStats | None

    def describe(self) -> dict[str, Any]:
        """``dtype`` and ``prefix_cache`` for the results file's ``model`` entry (``None`` where meaningless)."""
        ...

    def identity(self) -> dict[str, Any]:
        """What the model's answers depend on (weights, adapter, dtype, server model name): cache keys."""
        ...

    def fits(self, text: str) -> bool:
        """Whether a prompt fits the context (a model that cannot tell says ``True``)."""
        ...


@runtime_checkable
class ScoresLoglikelihood(Protocol):
    def loglikelihood(self, requests: Sequence[ChoiceRequest], progress: Progress) -> list[list[float]]:
        """Per request, the summed log-probability of each continuation after the context."""
        ...

    def loglikelihood_rolling(self, requests: Sequence[RollingRequest], progress: Progress) -> list[tuple[float, int]]:
        """Per request, ``(log-likelihood of the whole text, tokens scored)``."""
        ...


@runtime_checkable
class Generates(Protocol):
    def generate(self, requests: Sequence[GenerateRequest], progress: Progress) -> list[Generation]:
        """Per request, the greedy continuation of the prompt, cut at the first stop string."""
        ...


@runtime_checkable
class Chats(Protocol):
    def chat(self, requests: Sequence[ChatRequest], done: Callable[[int, str], None]) -> None:
        """Answer each request; ``done(i, reply)`` as each reply arrives (any order, any thread), so a caller
        can keep what arrived when a later call fails (:class:`~ru_llm.core.openai_http.CallFailed`)."""
        ...


@runtime_checkable
class Tokenizes(Protocol):
    def tokenize_stats(self, requests: Sequence[TokenizeRequest], progress: Progress) -> list[dict[str, Any]]:
        """Per request, the counts of ``ru_llm.tokenize.stats.tokenizer_stats`` for the model's tokenizer."""
        ...


@runtime_checkable
class CountsPrefixes(Protocol):
    """A model that runs a prefix shared by requests once (:attr:`~ru_llm.eval.task.ChoiceRequest.prefix`)."""

    def take_prefix_stats(self) -> dict[str, Any] | None:
        """What it did since the last call (``None``: nothing scored), for the task's ``prefix_cache`` entry."""
        ...


@runtime_checkable
class EvalModelKind(Protocol):
    """A way to make models, registered by name through ``register_eval_models``."""

    name: str
    description: str

    def check(self, settings: ModelSettings) -> None:
        """Cheap checks before any data is read or weights load (paths exist, a URL is given); raise
        :class:`~ru_llm.core.errors.ConfigError` naming the flag."""
        ...

    def load(self, settings: ModelSettings) -> EvalModel:
        """The model, ready to answer."""
        ...


#: what each request kind needs, and how the run names it in an error
CAPABILITIES: dict[type, tuple[type, str]] = {
    ChoiceRequest: (ScoresLoglikelihood, "log-likelihoods"),
    RollingRequest: (ScoresLoglikelihood, "rolling log-likelihoods"),
    GenerateRequest: (Generates, "generation"),
    TokenizeRequest: (Tokenizes, "its tokenizer"),
    ChatRequest: (Chats, "chat"),
}


def answer(model: EvalModel, requests: Sequence[Any], progress: Progress) -> list[Any]:
    """``requests`` (all of one kind) answered by the call of ``model`` that answers that kind."""
    first = requests[0]
    if isinstance(first, ChoiceRequest) and isinstance(model, ScoresLoglikelihood):
        return model.loglikelihood(requests, progress)
    if isinstance(first, RollingRequest) and isinstance(model, ScoresLoglikelihood):
        return model.loglikelihood_rolling(requests, progress)
    if isinstance(first, GenerateRequest) and isinstance(model, Generates):
        return model.generate(requests, progress)
    if isinstance(first, TokenizeRequest) and isinstance(model, Tokenizes):
        return model.tokenize_stats(requests, progress)
    raise TypeError(f"{type(model).__name__} does not answer {type(first).__name__}")  # checked by can_answer


def can_answer(model: EvalModel, request_type: type) -> bool:
    """Whether ``model`` implements the call that answers ``request_type``."""
    needed = CAPABILITIES.get(request_type)
    return needed is not None and isinstance(model, needed[0])
