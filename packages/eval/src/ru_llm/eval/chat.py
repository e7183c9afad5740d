"""Chatting with a local model: a conversation rendered through its chat template, replies streamed.

The model is loaded as ``ru-llm eval run`` loads it (:class:`~ru_llm.eval.models.hf.HFEvalModel`: the
same device, dtype, adapter and context rules); the prompt is rendered by the template the model was
trained with (the tokenizer's own ``chat_template``, which ``ru-llm train run`` saves, or a registered
template) and tokenized as training tokenized it; generation settings are MT-Bench's presets. When the
conversation outgrows the context, the oldest turns are dropped whole and the system message is kept.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from ru_llm.core.conversation import Conversation, Message
from ru_llm.core.errors import ConfigError

if TYPE_CHECKING:
    from ru_llm.eval.models.hf import ModelSettings

COMMANDS = "/reset (forget the conversation), /system TEXT (set the system message; /system alone: none), /exit"
_PROBE = "\u2063REPLY\u2063"  # a reply text no template writes around, to find what ends an assistant turn


@dataclass(frozen=True)
class GenerationSettings:
    """How replies are generated: an MT-Bench preset, optionally with another length or temperature."""

    preset: str = "greedy"
    max_new_tokens: int | None = None  # None: the preset's
    temperature: float | None = None  # None: the preset's; 0: greedy
    seed: int = 0

    def params(self) -> dict[str, Any]:
        """transformers ``generate`` arguments (sampling settings only when sampling)."""
        from ru_llm.eval.tasks.mt_bench import generation_params

        # "general" is no MT-Bench category: the fastchat preset samples at its default 0.7
        params = generation_params(self.preset, "general", self.max_new_tokens)
        if self.temperature is not None:
            params["do_sample"] = self.temperature > 0
            params["temperature"] = self.temperature
        if not params.get("do_sample"):
            for name in ("temperature", "top_p", "top_k"):
                params.pop(name, None)
        return params


@dataclass
class History:
    """The system message and the (user, assistant) turns so far."""

    system: str | None = None
    turns: list[tuple[str, str]] = field(default_factory=list)

    def messages(self, user: str, keep: int | None = None) -> list[Message]:
        """The conversation ending on ``user``, with the last ``keep`` turns (all when ``None``)."""
        turns = self.turns if keep is None else self.turns[len(self.turns) - keep :] if keep else []
        out = [Message("system", self.system)] if self.system else []
        for question, answer in turns:
            out += [Message("user", question), Message("assistant", answer)]
        return [*out, Message("user", user)]


def fit_history(
    history: History, user: str, encode: Callable[[list[Message]], list[int]], budget: int
) -> tuple[list[int], int]:
    """``(prompt ids, turns dropped)``: the oldest turns are dropped whole until the prompt is at most
    ``budget`` tokens; the system message and ``user`` always stay. A prompt that does not fit even
    then is a :class:`ConfigError`."""
    for keep in range(len(history.turns), -1, -1):
        ids = encode(history.messages(user, keep))
        if len(ids) <= budget:
            return ids, len(history.turns) - keep
    raise ConfigError(
        f"the message is too long: with the system message it is {len(ids)} tokens, and {budget} fit beside the reply",
        hint="shorten it, lower --max-new-tokens or raise --max-length",
    )


def end_of_turn(template: Any) -> str:
    """What the template writes after an assistant reply (``<|im_end|>``, ``</s>``, …): the trainable
    text that follows the reply, without whitespace; empty when the template shows none."""
    conversation = Conversation(id="probe", messages=(Message("user", "x"), Message("assistant", _PROBE)))
    try:
        segments = template.render(conversation)
    except Exception:  # a template that refuses this shape (e.g. needs a system turn) ends replies with EOS
        return ""
    for segment in segments:
        if segment.trainable and _PROBE in segment.text:
            return segment.text.split(_PROBE, 1)[1].strip()
    return ""


class StopCut:
    """Streamed text cut before a stop string; text that may begin one is held until it is known not to."""

    def __init__(self, stop: str) -> None:
        self.stop = stop
        self.pending = ""
        self.done = False

    def feed(self, chunk: str) -> str:
        if self.done:
            return ""
        if not self.stop:
            return chunk
        self.pending += chunk
        at = self.pending.find(self.stop)
        if at != -1:
            self.done = True
            out, self.pending = self.pending[:at], ""
            return out
        longest = min(len(self.stop) - 1, len(self.pending))
        hold = next((n for n in range(longest, 0, -1) if self.stop.startswith(self.pending[-n:])), 0)
        out = self.pending[: len(self.pending) - hold]
        self.pending = self.pending[len(out) :]
        return out

    def flush(self) -> str:
        out, self.pending = ("" if self.done else self.pending), ""
        return out


class ChatModel:
    """A loaded model with the tokenizer and template its conversations are rendered with."""

    def __init__(self, settings: ModelSettings, *, tokenizer_dir: str | None = None, template: str | None = None):
        """``tokenizer_dir``: where the chat tokenizer is (an adapter's own), when not beside the model;
        ``template``: a registered template's name; ``None``: the tokenizer's own chat template."""
        from ru_llm.core.hf import load_tokenizer
        from ru_llm.dataset.templates.hf import resolve_template
        from ru_llm.eval.models.hf import HFEvalModel

        self.model = HFEvalModel(settings)
        self.name = settings.adapter or settings.model
        self.tokenizer = (
            load_tokenizer(tokenizer_dir, trust_remote_code=settings.trust_remote_code)
            if tokenizer_dir
            else self.model.tokenizer
        )
        self.template = resolve_template(template or "hf", self.tokenizer)
        self.context = self.model.max_length
        self.end = end_of_turn(self.template)
        eos = self.tokenizer.eos_token_id
        self.stop_ids = [eos] if eos is not None else []
        # an end of turn needs transformers' StopStringCriteria, whose set-up walks the whole vocabulary
        # (~5 CPU-s on a 151k one): built once per model, and not at all when the end is one added token
        # (never part of another token), which stops generation as an end-of-sequence id
        self._stop_string: Any = None
        self._end_is_a_token = False
        if self.end:
            marker = self.tokenizer(self.end, add_special_tokens=False)["input_ids"]
            if len(marker) == 1:
                self._end_is_a_token = self.end in self.tokenizer.get_added_vocab()
                if marker[0] not in self.stop_ids:
                    self.stop_ids.append(marker[0])

    def encode(self, messages: list[Message]) -> list[int]:
        """The prompt's tokens as training tokenized the conversation (text whole, BOS as the tokenizer adds it)."""
        from ru_llm.dataset.templates import Segment, tokenize_segments

        conversation = Conversation(id="chat", messages=tuple(messages))
        text = self.template.render_prompt(conversation)
        try:
            return tokenize_segments([Segment(text, False)], self.tokenizer)[0]
        except ConfigError:  # a slow tokenizer has no offsets; without labels they are not needed
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            bos = self.tokenizer.bos_token_id
            adds = bos is not None and self.tokenizer("a")["input_ids"][:1] == [bos]
            return [bos, *ids] if adds and ids[:1] != [bos] else ids

    def stream(self, ids: list[int], params: dict[str, Any]) -> Iterator[str]:
        """The reply's text as it is generated, cut before the template's end of turn."""
        import threading

        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, StopStringCriteria, TextIteratorStreamer

        stopped = threading.Event()

        class Interrupted(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), stopped.is_set(), dtype=torch.bool, device=input_ids.device)

        criteria = StoppingCriteriaList([Interrupted()])
        if self.end and not self._end_is_a_token:
            if self._stop_string is None:
                self._stop_string = StopStringCriteria(self.tokenizer, [self.end])
            criteria.append(self._stop_string)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        inputs = torch.tensor([ids], device=self.model.device)
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                with torch.no_grad():
                    self.model.model.generate(
                        input_ids=inputs,
                        attention_mask=torch.ones_like(inputs),
                        pad_token_id=self.model.pad_id,
                        eos_token_id=self.stop_ids or None,
                        stopping_criteria=criteria,
                        streamer=streamer,
                        **params,
                    )
            except BaseException as error:  # re-raised in the caller's thread
                failure.append(error)
                streamer.end()

        worker = threading.Thread(target=generate, daemon=True)
        worker.start()
        cut = StopCut(self.end)
        try:
            for chunk in streamer:
                if text := cut.feed(chunk):
                    yield text
            if text := cut.flush():
                yield text
        finally:
            stopped.set()  # an interrupted reply (Ctrl-C) stops generating at the next token
            worker.join()
        if failure:
            raise failure[0]


class ChatSession:
    """One conversation with a model: history, trimming to the context, streamed replies."""

    def __init__(
        self,
        model: ChatModel,
        generation: GenerationSettings,
        *,
        system: str | None = None,
        note: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True),
    ) -> None:
        self.model = model
        self.history = History(system)
        self.params = generation.params()
        self.note = note
        self._trim_said = False
        half = model.context // 2
        if self.params["max_new_tokens"] > half:
            note(
                f"note: replies are capped at {half} tokens, half of the {model.context}-token context "
                f"(asked: {self.params['max_new_tokens']})"
            )
            self.params["max_new_tokens"] = half
        if self.params.get("do_sample"):
            import torch

            torch.manual_seed(generation.seed)

    def reply(self, user: str) -> Iterator[str]:
        """The model's answer to ``user``, streamed; the turn joins the history once it is complete."""
        budget = self.model.context - self.params["max_new_tokens"]
        ids, dropped = fit_history(self.history, user, self.model.encode, budget)
        if dropped:
            del self.history.turns[:dropped]
            if not self._trim_said:
                self._trim_said = True
                self.note(
                    f"note: the conversation no longer fits the {self.model.context}-token context; the oldest "
                    "turns are dropped from now on (the system message stays)"
                )
        parts: list[str] = []
        space = ""  # whitespace is held until more text follows: a reply neither starts nor ends with it
        for chunk in self.model.stream(ids, self.params):
            text = space + chunk if parts else chunk.lstrip()
            shown = text.rstrip()
            space = text[len(shown) :]
            if shown:
                parts.append(shown)
                yield shown
        self.history.turns.append((user, "".join(parts)))


def read_line(prompt: str, stdin: TextIO | None = None) -> str | None:
    """One line typed by the user (``None`` at end of input); a terminal gets line editing."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        with contextlib.suppress(ImportError):  # line editing and history for input()
            import readline  # noqa: F401
        try:
            return input(prompt)
        except EOFError:
            return None
    print(prompt, end="", file=sys.stderr, flush=True)
    line = stdin.readline()
    return line.rstrip("\n") if line else None


def chat_loop(session: ChatSession, read: Callable[[], str | None], out: TextIO) -> None:
    """Read messages and commands until ``/exit`` or end of input; replies are streamed to ``out``."""
    note = session.note
    while True:
        line = read()
        if line is None:
            return
        text = line.strip()
        if not text:
            continue
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            if command in ("/exit", "/quit"):
                return
            if command == "/reset":
                session.history.turns.clear()
                note("(conversation forgotten; the system message stays)")
            elif command == "/system":
                session.history.system = rest.strip() or None
                note(f"(system message: {session.history.system})" if rest.strip() else "(no system message)")
            else:
                note(f"unknown command {command}; commands: {COMMANDS}")
            continue
        try:
            for chunk in session.reply(text):
                out.write(chunk)
                out.flush()
        except ConfigError as error:  # a message too long for the context: say so and go on
            note(f"{error} (hint: {error.hint})" if error.hint else str(error))
            continue
        out.write("\n")
        out.flush()
