"""Resize a causal LM to a new tokenizer that extends or replaces its own.

Rows are matched by token string: a token the old vocabulary has keeps its old row (so a replaced
vocabulary keeps its special tokens), every other token gets rows from an embedding initialiser
(default: the mean of the rows of the old sub-tokens its text splits into), input and output
matrices separately, one matrix when they are tied. The text is the new token decoded alone, encoded
by the old tokenizer without special tokens; the "▁" SentencePiece puts in front of every text is
dropped, and a byte-level token that is only part of a UTF-8 character is split by the old BPE model.

The vocabulary is padded up to a multiple of 64; padding rows get the mean of all old rows, so a stray
padding id behaves like an average token, not like a zero vector that softmax would still give
probability to. The model is written in safetensors
to a temp dir beside ``--out`` and renamed into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ru_llm.core.atomic import atomic_directory, check_output_dir
from ru_llm.core.errors import ConfigError, PluginError, RuLLMError
from ru_llm.core.families import load_model_config
from ru_llm.core.hf import TOKENIZER_FILES, load_tokenizer
from ru_llm.tokenize.embeddings import EmbeddingInitializer, get_embedding_initializer
from ru_llm.tokenize.produced import is_model_file

INSTALL_HINT = 'pip install "ru-llm-tokenize[resize]" (torch, safetensors)'
MODES = ("auto", "extend", "replace")
#: config / generation_config keys holding token ids, and the tokenizer attribute to fall back on
ID_KEYS = {
    "bos_token_id": "bos_token_id",
    "eos_token_id": "eos_token_id",
    "pad_token_id": "pad_token_id",
    "decoder_start_token_id": None,
}
_EXAMPLES = 5


def vocab_rows(tokenizer: Any, vocab: dict[str, int] | None = None) -> int:
    """Embedding rows a tokenizer needs: one past its largest id (``len`` misses gaps in the ids).

    :param vocab: ``tokenizer.get_vocab()`` if the caller has it already (a 150k vocabulary takes 0.1-0.2 s).
    """
    vocab = tokenizer.get_vocab() if vocab is None else vocab
    return max(len(tokenizer), max(vocab.values(), default=-1) + 1)


@dataclass
class RowPlan:
    """Where every row of the new vocabulary comes from."""

    old_size: int  # rows the old tokenizer uses
    new_size: int  # rows the new tokenizer uses (before padding)
    copied: dict[int, int]  # new id -> old id of the same token string
    new_ids: list[int]  # ids of tokens the old vocabulary lacks, in order
    sub_tokens: list[list[int]]  # per new id: the old ids its text encodes to
    texts: list[str]  # per new id: its decoded text
    gaps: list[int]  # ids below new_size that no token has (filled like padding)
    extends: bool  # every old token keeps its id
    moved: list[str]  # up to a few old tokens that are missing or moved in the new tokenizer
    new_vocab: dict[str, int] = field(default_factory=dict, repr=False)  # the new tokenizer's, read once


def plan_rows(old_tokenizer: Any, new_tokenizer: Any) -> RowPlan:
    """Match the new vocabulary against the old one by token string and split the new tokens."""
    old_vocab = old_tokenizer.get_vocab()  # each read once: 0.1-0.2 s apiece for a 150k vocabulary
    new_vocab = new_tokenizer.get_vocab()
    new_size = vocab_rows(new_tokenizer, new_vocab)
    by_id = {i: token for token, i in new_vocab.items()}
    copied: dict[int, int] = {}
    new_ids: list[int] = []
    gaps: list[int] = []
    for i in range(new_size):
        token = by_id.get(i)
        if token is None:
            gaps.append(i)
        elif token in old_vocab:
            copied[i] = old_vocab[token]
        else:
            new_ids.append(i)
    texts: list[str] = []
    encoded: list[list[int]] = []
    if new_ids:  # batch_decode([]) is not [] in every transformers version
        texts = new_tokenizer.batch_decode(
            [[i] for i in new_ids], skip_special_tokens=False, clean_up_tokenization_spaces=False
        )
        encoded = old_tokenizer(texts, add_special_tokens=False)["input_ids"]
    byte_level = _is_byte_level(old_tokenizer) and _is_byte_level(new_tokenizer)
    space = _prefix_space_id(old_tokenizer)
    sub_tokens = []
    for i, text, ids in zip(new_ids, texts, encoded, strict=True):
        ids = (byte_level and _byte_pieces(old_tokenizer, by_id[i], text)) or list(ids)
        if space is not None and len(ids) > 1 and ids[0] == space and not text.startswith(" "):
            ids = ids[1:]  # the "▁" SentencePiece put in front of the text, not part of the token
        sub_tokens.append(ids)
    moved = [token for token, i in old_vocab.items() if new_vocab.get(token) != i]
    return RowPlan(
        old_size=vocab_rows(old_tokenizer, old_vocab),
        new_size=new_size,
        copied=copied,
        new_ids=new_ids,
        sub_tokens=sub_tokens,
        texts=texts,
        gaps=gaps,
        extends=not moved,
        moved=moved[:3],
        new_vocab=new_vocab,
    )


def _prefix_space_id(tokenizer: Any) -> int | None:
    """The id of a bare "▁" when the tokenizer puts one in front of every text (LLaMA-2, Mistral-7B)."""
    pieces = tokenizer.tokenize("a")
    if not pieces or not pieces[0].startswith("\u2581"):
        return None
    space = tokenizer.convert_tokens_to_ids("\u2581")
    return space if isinstance(space, int) and space != tokenizer.unk_token_id else None


def _is_byte_level(tokenizer: Any) -> bool:
    """Whether token strings are GPT-2 style byte-level ("Ġ" for a space, one character per byte)."""
    backend = getattr(tokenizer, "backend_tokenizer", None) if getattr(tokenizer, "is_fast", False) else None
    return backend is not None and type(backend.decoder).__name__ == "ByteLevel"


def _byte_pieces(old_tokenizer: Any, token: str, text: str) -> list[int] | None:
    """Old ids of a byte-level token that is only part of a UTF-8 character (its text decodes to U+FFFD).

    Encoding the replacement character would say nothing about the token; the old BPE model can
    split the token string itself, as both vocabularies spell bytes the same way.
    """
    if "\ufffd" not in text or "\ufffd" in token:
        return None
    try:
        pieces = old_tokenizer.backend_tokenizer.model.tokenize(token)
    except Exception:  # a model type without tokenize(); the text encoding is used instead
        return None
    old_vocab_has = old_tokenizer.convert_tokens_to_ids
    unk = old_tokenizer.unk_token_id
    ids = [p.id for p in pieces]
    if not ids or any(i == unk or old_vocab_has(p.value) != i for p, i in zip(pieces, ids, strict=True)):
        return None
    return ids


def build_matrix(
    old_weight: Any,
    plan: RowPlan,
    initializer: EmbeddingInitializer,
    rows: int,
    *,
    matrix: str,
    generator: Any,
) -> Any:
    """The new ``(rows, hidden)`` matrix: copied rows, initialised rows, padding rows (mean of old)."""
    import torch

    old = old_weight.detach()[: plan.old_size]
    fill = old.float().mean(dim=0).to(old.dtype)
    new = fill.expand(rows, old.shape[1]).clone()
    if plan.copied:
        new[torch.tensor(list(plan.copied))] = old_weight.detach()[torch.tensor(list(plan.copied.values()))]
    if plan.new_ids:
        made = initializer.new_rows(old, plan.sub_tokens, matrix=matrix, generator=generator)
        expected = (len(plan.new_ids), old.shape[1])
        if not isinstance(made, torch.Tensor) or tuple(made.shape) != expected:
            got = tuple(made.shape) if isinstance(made, torch.Tensor) else type(made).__name__
            raise PluginError(
                f"embedding initializer {initializer.name!r} returned {got} for the {matrix} matrix, "
                f"expected a tensor of shape {expected}"
            )
        new[torch.tensor(plan.new_ids)] = made.to(old.dtype)
    return new


@dataclass
class ResizeReport:
    """What ``resize_model`` did; ``to_dict()`` is the JSON the command prints with ``--json``."""

    out_dir: str
    model_type: str
    initializer: str
    mode: str  # "extend": every old token kept its id; "replace": otherwise
    old_vocab: int
    old_rows: int  # embedding rows of the old model
    new_vocab: int
    new_rows: int  # embedding rows of the new model (padded)
    copied: int
    initialized: int
    without_sub_tokens: int  # new tokens whose text the old tokenizer encodes to nothing
    padding: int
    tied: bool
    ids: dict[str, Any] = field(default_factory=dict)  # "config.eos_token_id": [old, new]
    examples: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resize_model(
    model_dir: str | Path,
    tokenizer_dir: str | Path,
    out_dir: str | Path,
    *,
    initializer: str = "mean",
    pad_to_multiple_of: int = 64,
    mode: str = "auto",
    seed: int = 0,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ResizeReport:
    """Resize the model in ``model_dir`` to the tokenizer in ``tokenizer_dir`` and save both to ``out_dir``.

    :param mode: ``extend`` refuses a tokenizer that moves or drops an old token; ``replace`` and
        ``auto`` accept any vocabulary (rows are matched by token string either way).
    :param progress: called with a short description as each stage starts.
    """
    say = progress or (lambda _: None)
    model_dir, tokenizer_dir, out_dir = Path(model_dir), Path(tokenizer_dir), Path(out_dir)
    if pad_to_multiple_of < 1:
        raise ConfigError(f"pad_to_multiple_of must be at least 1, not {pad_to_multiple_of}")
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    init = get_embedding_initializer(initializer)
    config_data = _check_model_dir(model_dir)
    _check_tokenizer_dir(tokenizer_dir, "the new tokenizer")
    check_output_dir(out_dir, overwrite=overwrite, inputs=[model_dir, tokenizer_dir])
    torch, transformers = _require_torch()

    say("reading the tokenizers")
    old_tok = load_tokenizer(model_dir)
    new_tok = load_tokenizer(tokenizer_dir)
    plan = plan_rows(old_tok, new_tok)
    old_size = plan.old_size
    config_rows = config_data.get("vocab_size")
    if isinstance(config_rows, int) and config_rows < old_size:
        raise _mismatch(model_dir, config_rows, old_size)
    if mode == "extend" and not plan.extends:
        raise RuLLMError(
            f"{tokenizer_dir}: mode 'extend', but the new tokenizer drops or moves old tokens "
            f"(e.g. {', '.join(repr(t) for t in plan.moved)})",
            hint="use mode 'replace' to match rows by token string, or extend the model's own tokenizer",
        )

    say("loading the model")
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype="auto", use_safetensors=True)
    except (OSError, ValueError, KeyError) as e:
        raise RuLLMError(f"{model_dir}: cannot load a causal LM: {e}", hint="pass a *ForCausalLM model dir") from e
    inp = model.get_input_embeddings()
    out = model.get_output_embeddings()
    tied = out is None or out.weight is inp.weight
    old_rows = inp.weight.shape[0]
    if old_rows < old_size:
        raise _mismatch(model_dir, old_rows, old_size)
    rows = -(-plan.new_size // pad_to_multiple_of) * pad_to_multiple_of

    say(f"initialising {len(plan.new_ids)} new rows ({init.name})")
    generator = torch.Generator().manual_seed(seed)
    new_in = build_matrix(inp.weight, plan, init, rows, matrix="input", generator=generator)
    new_out = None if tied else build_matrix(out.weight, plan, init, rows, matrix="output", generator=generator)
    old_bias = None if out is None or getattr(out, "bias", None) is None else out.bias.detach().clone()
    model.resize_token_embeddings(rows, mean_resizing=False)
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(new_in)
        if new_out is not None:
            model.get_output_embeddings().weight.copy_(new_out)
        if old_bias is not None:
            model.get_output_embeddings().bias.copy_(_resized_bias(old_bias, plan, rows))
    if tied:
        model.tie_weights()
        if model.get_output_embeddings() is not None and (
            model.get_output_embeddings().weight.data_ptr() != model.get_input_embeddings().weight.data_ptr()
        ):  # pragma: no cover - a transformers change would show up here
            raise RuLLMError(f"{model_dir}: the embeddings were tied but the resize untied them")

    report = ResizeReport(
        out_dir=str(out_dir),
        model_type=str(config_data.get("model_type")),
        initializer=init.name,
        mode="extend" if plan.extends else "replace",
        old_vocab=old_size,
        old_rows=old_rows,
        new_vocab=plan.new_size,
        new_rows=rows,
        copied=len(plan.copied),
        initialized=len(plan.new_ids),
        without_sub_tokens=sum(1 for ids in plan.sub_tokens if not ids),
        padding=rows - plan.new_size + len(plan.gaps),
        tied=tied,
        examples=[
            {"id": i, "text": text, "sub_tokens": old_tok.convert_ids_to_tokens(ids)}
            for i, text, ids in list(zip(plan.new_ids, plan.texts, plan.sub_tokens, strict=True))[:_EXAMPLES]
        ],
    )
    _update_ids(model, old_tok, new_tok, report, plan.new_vocab)

    say(f"saving to {out_dir}")
    _save(model, tokenizer_dir, out_dir)
    return report


def _resized_bias(old_bias: Any, plan: RowPlan, rows: int) -> Any:
    """Output bias: copied entries keep theirs, every other entry gets the mean old bias."""
    import torch

    new = old_bias[: plan.old_size].float().mean().to(old_bias.dtype).expand(rows).clone()
    if plan.copied:
        new[torch.tensor(list(plan.copied))] = old_bias[torch.tensor(list(plan.copied.values()))]
    return new


def _update_ids(model: Any, old_tok: Any, new_tok: Any, report: ResizeReport, new_vocab: dict[str, int]) -> None:
    """Point bos/eos/pad/decoder_start ids in config and generation_config at the same token strings."""

    def new_id(old_id: Any, where: str, fallback_attr: str | None) -> Any:
        if not isinstance(old_id, int):
            return old_id
        token = old_tok.convert_ids_to_tokens(old_id) if 0 <= old_id < report.old_vocab else None
        if token is not None and token in new_vocab:
            return new_vocab[token]
        fallback = getattr(new_tok, fallback_attr, None) if fallback_attr else None
        report.warnings.append(
            f"{where}={old_id} ({token!r}) is not in the new vocabulary; set to "
            + (f"the new tokenizer's {fallback_attr}={fallback}" if fallback is not None else "None")
        )
        return fallback

    targets = [("config", model.config)]
    if getattr(model, "generation_config", None) is not None:
        targets.append(("generation_config", model.generation_config))
    for label, target in targets:
        for key, fallback_attr in ID_KEYS.items():
            old = getattr(target, key, None)
            if old is None:
                continue
            where = f"{label}.{key}"
            if isinstance(old, (list, tuple)):
                mapped = [new_id(i, where, fallback_attr) for i in old]
                new: Any = [i for i in dict.fromkeys(mapped) if i is not None]
            else:
                new = new_id(old, where, fallback_attr)
            setattr(target, key, new)
            if new != old:
                report.ids[where] = [old, new]


def _save(model: Any, tokenizer_dir: Path, out_dir: Path) -> None:
    with atomic_directory(out_dir, command="tokenize resize") as work:
        model.save_pretrained(work)
        for file in sorted(tokenizer_dir.iterdir()):
            if file.is_file() and not file.name.startswith(".") and not is_model_file(file):
                shutil.copy2(file, work / file.name)


def _mismatch(model_dir: Path, rows: int, tokens: int) -> RuLLMError:
    return RuLLMError(
        f"{model_dir}: the model has {rows} embedding rows but its own tokenizer uses {tokens} ids",
        hint="the tokenizer in the model dir does not belong to these weights: put the model's own tokenizer there",
    )


def _check_model_dir(model_dir: Path) -> dict[str, Any]:
    if not model_dir.is_dir():
        raise RuLLMError(f"{model_dir}: not a directory", hint="give a model directory saved by transformers")
    config = load_model_config(model_dir)
    if not any(model_dir.glob("*.safetensors")):
        other = sorted(p.name for p in model_dir.glob("*.bin"))
        raise RuLLMError(
            f"{model_dir}: no safetensors weights"
            + (f" (found {other[0]}; only safetensors are read)" if other else ""),
            hint="save the model with save_pretrained() (safetensors) and pass that directory",
        )
    _check_tokenizer_dir(model_dir, "the model")
    return config


def _check_tokenizer_dir(path: Path, what: str) -> None:
    if not path.is_dir():
        raise RuLLMError(f"{path}: not a directory", hint=f"{what} is a directory saved by save_pretrained()")
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise RuLLMError(
            f"{path}: no tokenizer found (none of {', '.join(TOKENIZER_FILES)})",
            hint=f"{what} needs a tokenizer saved with tokenizer.save_pretrained() in the same directory",
        )


def _require_torch() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError:
        raise RuLLMError("resizing a model needs torch and transformers", hint=INSTALL_HINT) from None
    return torch, transformers
