"""A transformers causal LM (optionally with a peft adapter) answering evaluation requests in batches.

Requests are sorted by length and batched so padding stays small; contexts and continuations are
tokenized the way lm-evaluation-harness (0.4.10 and later) does, so predictions agree with lm-eval's:
the continuation's tokens are those the whole text adds after the context's, a context's trailing
whitespace moves to the continuation, and special tokens (a BOS) are added as the tokenizer itself adds
them unless ``add_bos`` says otherwise (tests/eval/test_lm_eval_parity.py holds both to this). The
context is the model's own (:func:`context_length`, where lm-eval finds it) unless the settings ask
for less.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError, first_line
from ru_llm.eval.model import ChatRequest, ModelSettings
from ru_llm.eval.models.prefix_cache import PrefixStats
from ru_llm.eval.task import ChoiceRequest, GenerateRequest, Generation, RollingRequest, TokenizeRequest

__all__ = ["HFEvalModel", "HFKind", "ModelSettings", "context_length", "model_fingerprint"]


_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
DEFAULT_CONTEXT = 2048  # lm-eval's when neither the config nor the tokenizer gives a length
# transformers' "no limit" model_max_length is int(1e30); a tokenizer saying more than this means none
_SANE_TOKENIZER_LIMIT = 10**7


def context_length(config: Any, tokenizer: Any = None) -> int | None:
    """The model's context in tokens, found where lm-eval's ``resolve_max_length`` finds it: the text
    model's config (``text_config`` first, for composite models) ``n_positions``,
    ``max_position_embeddings`` or ``n_ctx``; else the tokenizer's ``model_max_length`` when it states
    one; else ``None`` (lm-eval then takes 2048, :data:`DEFAULT_CONTEXT`)."""
    cfg = getattr(config, "text_config", None) or config
    for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(cfg, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    stated = getattr(tokenizer, "model_max_length", None)
    if isinstance(stated, int) and 0 < stated < _SANE_TOKENIZER_LIMIT:
        return stated
    return None


class HFKind:
    """``--model-kind hf`` (the default): a transformers model directory or hub id, with an optional adapter."""

    name = "hf"
    description = "a transformers causal LM (directory or hub id, optional peft adapter), run here"

    def check(self, settings: ModelSettings) -> None:
        from ru_llm.core.hf import check_model_source

        check_model_source(settings.model, what="--model")
        if settings.adapter is not None:
            path = Path(settings.adapter).expanduser()
            if not path.is_dir():
                hint = "give the directory `ru-llm train run` wrote"
                raise ConfigError(f"--adapter {settings.adapter}: no such directory", hint=hint)
            if not (path / "adapter_config.json").is_file():
                raise ConfigError(
                    f"--adapter {settings.adapter}: no adapter_config.json, so not a peft adapter",
                    hint="a merged or full model is passed as --model instead",
                )

    def load(self, settings: ModelSettings) -> HFEvalModel:
        return HFEvalModel(settings)


class HFEvalModel:
    """Answers every request kind: log-likelihoods, rolling log-likelihoods, generation, chat, tokenizer counts."""

    stats = None  # no server calls

    def __init__(self, settings: ModelSettings) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.settings = settings
        self._warm = False
        self._keeps_logits = True  # until the model's forward refuses logits_to_keep
        self._stops: dict[tuple[str, ...], Any] = {}
        self.prefix_stats = PrefixStats(used=settings.prefix_cache)  # added to by every loglikelihood call
        path = Path(settings.model).expanduser()
        if path.exists() and not (path / "config.json").is_file():
            raise ConfigError(f"--model {settings.model}: no config.json", hint="pass a transformers model directory")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(settings.model, trust_remote_code=settings.trust_remote_code)
        except (OSError, ValueError, TypeError) as e:
            raise ConfigError(f"--model {settings.model}: no usable tokenizer ({first_line(e)})") from None
        if settings.device == "auto":
            self.device = "cuda" if torch.cuda.is_available() else "cpu"
        else:
            self.device = settings.device
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"--device {settings.device}: this machine has no CUDA GPU", hint="use --device cpu")
        dtype: Any = getattr(torch, _DTYPES[settings.dtype]) if settings.dtype in _DTYPES else None
        if dtype is None:
            dtype = (
                torch.bfloat16 if self.device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
            )
        try:
            model = AutoModelForCausalLM.from_pretrained(
                settings.model, dtype=dtype, trust_remote_code=settings.trust_remote_code
            )
        except (OSError, ValueError) as e:
            raise ConfigError(f"--model {settings.model}: cannot load: {first_line(e)}") from None
        if settings.adapter:
            model = _with_adapter(model, settings.adapter)
        self.model = model.to(self.device).eval()
        own = context_length(model.config, self.tokenizer)
        if settings.max_length and own:  # asked beyond the model's positions: cut to them (GPT-2's end there)
            self.max_length = min(settings.max_length, own)
        else:
            self.max_length = settings.max_length or own or DEFAULT_CONTEXT
        self.pad_id = (
            self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        )
        if self.pad_id is None:
            self.pad_id = 0

    # -- what the results file and the caches record --------------------------------------------------
    def describe(self) -> dict[str, Any]:
        dtype = str(next(self.model.parameters()).dtype).replace("torch.", "")
        return {"dtype": dtype, "prefix_cache": self.settings.prefix_cache}

    def identity(self) -> dict[str, Any]:
        settings = self.settings
        return {
            "model": settings.model,
            "weights": model_fingerprint(settings.model),
            "adapter": settings.adapter,
            "adapter_weights": model_fingerprint(settings.adapter) if settings.adapter else None,
            "dtype": str(next(self.model.parameters()).dtype),
            "add_bos": settings.add_bos,
        }

    def take_prefix_stats(self) -> dict[str, Any] | None:
        """What the prefix cache did since the last call (``None``: no choices scored), then start counting anew."""
        stats, self.prefix_stats = self.prefix_stats, PrefixStats(used=self.settings.prefix_cache)
        return stats.as_dict() if stats.requests else None

    # -- tokens --------------------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` with the special tokens lm-eval's ``HFLM.tok_encode`` gives it: the
        tokenizer's own (``add_bos=None``), none (``False``) or a BOS (``True``); none when the text
        already starts with the BOS string (a chat template that writes it)."""
        bos = self.tokenizer.bos_token
        if self.settings.add_bos is False or (bos and text.startswith(bos)):
            return self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if self.settings.add_bos is None:
            return self.tokenizer(text)["input_ids"]
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return [self.tokenizer.bos_token_id, *ids] if self.tokenizer.bos_token_id is not None else ids

    def wrap(self, prompt: str) -> str:
        """The prompt as a user turn of the tokenizer's chat template, when asked for."""
        if not self.settings.chat_template:
            return prompt
        if not getattr(self.tokenizer, "chat_template", None):
            raise ConfigError("--chat-template: this tokenizer has no chat template")
        return self.tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )

    def fits(self, text: str) -> bool:
        return len(self.encode(self.wrap(text))) + 4 <= self.max_length

    def split(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """lm-eval's ``_encode_pair``: trailing whitespace of the context moves to the continuation,
        and the continuation's tokens are what ``context + continuation`` adds after the context's
        tokens (even where a token spans the boundary, as lm-eval takes them)."""
        if not context and not self.settings.chat_template:  # lm-eval: the BOS (or EOS) token is the context
            cont = self.tokenizer(continuation, add_special_tokens=False)["input_ids"]
            prefix = next(
                (t for t in (self.tokenizer.bos_token_id, self.tokenizer.eos_token_id) if t is not None), self.pad_id
            )
            return ([prefix], cont) if cont[:1] != [prefix] else (cont[:1], cont[1:])
        spaces = len(context) - len(context.rstrip())
        if spaces:
            context, continuation = context[:-spaces], context[-spaces:] + continuation
        # before the chat template, not after as lm-eval: its generation prompt's newline stays in the context
        context = self.wrap(context)
        whole = self.encode(context + continuation)
        ctx = self.encode(context)
        return ctx, whole[len(ctx) :]

    # -- requests ------------------------------------------------------------------------------------
    def loglikelihood(self, requests: Sequence[ChoiceRequest], progress: Callable[[int], None]) -> list[list[float]]:
        """Summed log-probabilities of each continuation; one forward pass per question when every
        continuation is a single token (MMLU's letters). A request's ``prefix`` runs once for all the
        requests that share it, unless ``prefix_cache`` is off (:mod:`ru_llm.eval.models.prefix_cache`);
        what it did is added to :attr:`prefix_stats`."""
        from ru_llm.eval.models.prefix_cache import ScoreRow, score_rows

        rows: list[ScoreRow] = []
        where: list[list[tuple[int, int]]] = []  # per row: (choice, how many reads) in reads order
        prefixes: dict[str, tuple[int, ...] | None] = {}
        for r, request in enumerate(requests):
            prefix = self._prefix_ids(request, prefixes)
            single: dict[tuple[int, ...], int] = {}  # one row per distinct context: its next-token distribution
            for c, continuation in enumerate(request.continuations):
                ctx, cont = self.split(request.context, continuation)
                if len(cont) == 1:
                    if tuple(ctx) not in single:
                        single[tuple(ctx)] = len(rows)
                        rows.append(ScoreRow(ctx, [], r, prefix))
                        where.append([])
                    row_index = single[tuple(ctx)]
                else:  # the continuation's tokens after the context: all but its last are fed (as lm-eval)
                    rows.append(ScoreRow((ctx + cont)[:-1], [], r, prefix))
                    where.append([])
                    row_index = len(rows) - 1
                rows[row_index].reads.extend((len(ctx) - 1 + k, token) for k, token in enumerate(cont))
                where[row_index].append((c, len(cont)))
        left = Counter(row.request for row in rows)

        def done(i: int) -> None:
            left[rows[i].request] -= 1
            if not left[rows[i].request]:
                progress(1)

        values, stats = score_rows(self, rows, enabled=self.settings.prefix_cache, on_row=done)
        self.prefix_stats.add(stats)
        results = [[0.0] * len(req.continuations) for req in requests]
        for row, found, choices in zip(rows, values, where, strict=True):
            k = 0
            for c, n in choices:
                results[row.request][c] = sum(found[k : k + n])
                k += n
        progress(sum(1 for request in requests if not request.continuations))  # no continuation: no row
        return results

    def _prefix_ids(self, request: ChoiceRequest, seen: dict[str, tuple[int, ...] | None]) -> tuple[int, ...] | None:
        """The token ids of the request's shared prefix as its prompt begins (after a chat template's
        opening, with the BOS ``encode`` gives), tokenized once per distinct prefix; ``None`` without one."""
        if not request.prefix or not request.context.startswith(request.prefix):
            return None
        context = request.context.rstrip()  # as ``split`` moves trailing whitespace to the continuation
        if len(context) < len(request.prefix):
            return None
        wrapped = self.wrap(context)
        at = wrapped.find(request.prefix)
        if at < 0:
            return None
        text = wrapped[: at + len(request.prefix)]
        if text not in seen:
            seen[text] = tuple(self.encode(text))
        return seen[text]

    def loglikelihood_rolling(
        self, requests: Sequence[RollingRequest], progress: Callable[[int], None]
    ) -> list[tuple[float, int]]:
        """``(log-likelihood, tokens scored)`` of each text; texts longer than the context are scored in windows."""
        import torch

        bos = self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None else self.tokenizer.eos_token_id
        out: list[tuple[float, int]] = []
        for request in requests:
            ids = self.tokenizer(request.text, add_special_tokens=False)["input_ids"]
            total, count = 0.0, 0
            window = self.max_length - 1
            for start in range(0, len(ids), window):
                chunk = ids[start : start + window]
                prefix = [bos] if start == 0 else ids[start - 1 : start]
                inputs = prefix + chunk
                with torch.no_grad():
                    logits, _ = self._forward([inputs])
                logp = torch.log_softmax(logits[0].float(), dim=-1)
                total += sum(float(logp[k, token]) for k, token in enumerate(chunk))
                count += len(chunk)
            out.append((total, count))
            progress(1)
        return out

    def generate(self, requests: Sequence[GenerateRequest], progress: Callable[[int], None]) -> list[Generation]:
        """Greedy generations, one request at a time, each timed (``Generation.seconds``, ``.tokens``).

        Generation stops at ``max_new_tokens``, at the end-of-sequence token or once a stop string
        appears; the text is cut at the first stop string. The first call on a model runs one untimed
        step first, so CUDA's start-up does not count against the first request.
        """
        import time

        import torch

        cuda = self.device.startswith("cuda")
        texts: list[Generation] = []
        for request in requests:
            ids = torch.tensor([self.encode(self.wrap(request.prompt))], device=self.device)
            stops = {"stopping_criteria": self._stop_criteria(request.stop)} if request.stop else {}
            with torch.no_grad():
                if not self._warm:
                    self.model.generate(ids, max_new_tokens=1, do_sample=False, pad_token_id=self.pad_id)
                    self._warm = True
                if cuda:
                    torch.cuda.synchronize(self.device)
                started = time.perf_counter()
                output = self.model.generate(
                    ids, max_new_tokens=request.max_new_tokens, do_sample=False, pad_token_id=self.pad_id, **stops
                )
                if cuda:
                    torch.cuda.synchronize(self.device)
                seconds = time.perf_counter() - started
            new = output[0, ids.shape[1] :]
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            for stop in request.stop:
                text = text.split(stop)[0]
            texts.append(Generation(text, seconds=seconds, tokens=int(new.shape[0])))
            progress(1)
        return texts

    def chat(self, requests: Sequence[ChatRequest], done: Callable[[int, str], None]) -> None:
        """Replies through the tokenizer's chat template, batched with left padding; requests with the same
        ``params`` generate together (sampling is seeded, so a rerun gives the same replies)."""
        import json

        import torch

        tok = self.tokenizer
        if not getattr(tok, "chat_template", None):
            raise ConfigError(
                f"--model {self.settings.model}: the tokenizer has no chat template", hint="use an instruct model"
            )
        groups: dict[str, list[int]] = {}
        for i, request in enumerate(requests):
            groups.setdefault(json.dumps(request.params, sort_keys=True), []).append(i)
        batch_size = self.settings.batch_size or 8
        for indices in groups.values():
            params = dict(requests[indices[0]].params)
            if not params.get("do_sample"):  # transformers warns about sampling settings without sampling
                for name in ("temperature", "top_p", "top_k"):
                    params.pop(name, None)
            encoded = {
                i: self.encode(
                    tok.apply_chat_template(list(requests[i].messages), tokenize=False, add_generation_prompt=True)
                )
                for i in indices
            }
            order = sorted(indices, key=lambda i: -len(encoded[i]))
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                width = max(len(encoded[i]) for i in batch)
                ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, i in enumerate(batch):
                    seq = encoded[i]
                    ids[row, width - len(seq) :] = torch.tensor(seq)
                    mask[row, width - len(seq) :] = 1
                if params.get("do_sample"):
                    torch.manual_seed(0)
                with torch.no_grad():
                    out = self.model.generate(
                        input_ids=ids.to(self.device),
                        attention_mask=mask.to(self.device),
                        pad_token_id=self.pad_id,
                        **params,
                    )
                for row, i in enumerate(batch):
                    done(i, tok.decode(out[row, width:], skip_special_tokens=True).strip())

    def _stop_criteria(self, stop: tuple[str, ...]) -> Any:
        """transformers' stop-string criterion, built once per set of strings (building it reads the whole
        vocabulary: seconds for a 150k one)."""
        from transformers import StoppingCriteriaList, StopStringCriteria

        if stop not in self._stops:
            self._stops[stop] = StoppingCriteriaList([StopStringCriteria(self.tokenizer, list(stop))])
        return self._stops[stop]

    def tokenize_stats(
        self, requests: Sequence[TokenizeRequest], progress: Callable[[int], None]
    ) -> list[dict[str, Any]]:
        """How the tokenizer splits each text (no special tokens, no forward pass): the counts of
        ``ru_llm.tokenize.stats.tokenizer_stats``."""
        from ru_llm.core.deps import require

        stats = require(
            "ru_llm.tokenize.stats", purpose="tokenizer_efficiency", package="ru-llm-eval", extra="tokenize"
        )
        out = []
        for request in requests:
            out.append(stats.tokenizer_stats(self.tokenizer, [request.text]))
            progress(1)
        return out

    # -- batching ------------------------------------------------------------------------------------
    def _batches(self, sequences: list[list[int]]) -> list[list[int]]:
        """Index batches over sequences sorted longest first: a fixed size, or ~16k tokens per batch."""
        batches: list[list[int]] = []
        current: list[int] = []
        budget = 16384
        for i, seq in enumerate(sequences):
            width = len(sequences[current[0]]) if current else len(seq)
            full = (
                len(current) >= self.settings.batch_size
                if self.settings.batch_size
                else (len(current) + 1) * width > budget
            )
            if current and full:
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
        return batches

    def _forward(self, sequences: list[list[int]], keep: list[int] | None = None) -> tuple[Any, dict[int, int]]:
        """Logits of right-padded sequences, and where position ``p`` is along their second axis.

        No attention mask, as lm-eval calls the model: with right padding a real token attends only to
        real tokens before it, and without a mask attention takes its fast causal path. ``keep``: the
        positions whose logits are needed; the model projects only those onto the vocabulary
        (``logits_to_keep``), which on long prompts is most of the work for a small model and most of the
        memory for a large vocabulary. A model whose ``forward`` has no ``logits_to_keep`` gets them all.
        """
        import torch

        width = max(len(s) for s in sequences)
        ids = torch.full((len(sequences), width), self.pad_id, dtype=torch.long)
        for row, seq in enumerate(sequences):  # right padding: positions of real tokens are unchanged
            ids[row, : len(seq)] = torch.tensor(seq)
        ids = ids.to(self.device)
        if keep is not None and self._keeps_logits:
            try:
                logits = self.model(input_ids=ids, logits_to_keep=torch.tensor(keep, device=self.device)).logits
                return logits, {p: k for k, p in enumerate(keep)}
            except TypeError:  # an older model class: this run computes every position's logits
                self._keeps_logits = False
        return self.model(input_ids=ids).logits, _EVERY_POSITION


class _Identity(dict):
    """``column[p] == p``: logits for every position."""

    def __missing__(self, key: int) -> int:
        return key


_EVERY_POSITION: dict[int, int] = _Identity()


def _with_adapter(model: Any, adapter: str) -> Any:
    import json

    from peft import PeftModel

    config = Path(adapter) / "adapter_config.json"
    if not config.is_file():
        raise ConfigError(f"--adapter {adapter}: no adapter_config.json", hint="pass a peft adapter directory")
    try:
        return PeftModel.from_pretrained(model, adapter)
    except (ValueError, RuntimeError, KeyError) as e:
        base = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
        raise ConfigError(
            f"--adapter {adapter} does not fit this model (it was trained on {base}): {first_line(e)}"
        ) from None


def model_fingerprint(path: str) -> str | None:
    """A cheap identity of local weights: sha256 over the safetensors headers and file sizes."""
    import hashlib

    root = Path(path).expanduser()
    files = sorted(root.glob("*.safetensors")) if root.is_dir() else []
    if not files:
        return None
    digest = hashlib.sha256()
    for file in files:
        with file.open("rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            digest.update(fh.read(min(size, 10_000_000)))
        digest.update(str(file.stat().st_size).encode())
    return digest.hexdigest()


def perplexity_from(logprob: float, tokens: int) -> float:
    return math.exp(-logprob / max(tokens, 1))
