"""Learned Embedding Propagation (Tikhomirov & Chernyshev): carry an adapted vocabulary to the instruct model.

B is the base model, I its instruct model (same body size and vocabulary), B2 the base after Ruadapt's
vocabulary adaptation (new tokenizer, trained embeddings). The result keeps I's body; for the input
embeddings and for lm_head separately, a d×d map P is fitted by least squares (float64) from rows of B
to the corresponding rows of I, and the new matrix is B2's matrix times P:

* ``swap``: P = identity (B2's matrices put into I as they are);
* ``overlap``: fitted on the tokens both vocabularies share (matched by their text);
* ``conversion`` (default): fitted on B's and I's matrices converted into the new vocabulary (each new
  token's row is the mean of the old rows of the old tokenizer's split of its text; a shared token keeps
  its row).

Tied models (all three must agree) project the input embeddings only and re-tie. Special and chat tokens
of the instruct tokenizer keep I's own rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ru_llm.core.errors import ConfigError, RuLLMError, first_line

Mode = Literal["conversion", "overlap", "swap"]
MODES = ("conversion", "overlap", "swap")


@dataclass
class MatrixFit:
    matrix: str
    fitted_on: int  # rows used to fit P (0 for swap)
    residual: float  # ||X P - Y|| / ||Y|| over those rows
    kept_instruct_rows: int


@dataclass
class LEPReport:
    out: str
    mode: str
    tied: bool
    old_vocab: int
    new_vocab: int
    fits: list[MatrixFit] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_projection(x: Any, y: Any) -> tuple[Any, float]:
    """The least-squares ``P`` with ``x @ P ≈ y`` (float64) and the relative residual."""
    import torch

    x64, y64 = x.double(), y.double()
    solution = torch.linalg.lstsq(x64, y64, driver="gelsd").solution
    residual = float(torch.linalg.norm(x64 @ solution - y64) / max(float(torch.linalg.norm(y64)), 1e-30))
    return solution, residual


def converted(matrix: Any, plan: Any) -> Any:
    """``matrix`` (old vocabulary) in the new vocabulary: shared tokens keep their row, new ones the mean
    of their old sub-token rows (the mean of all rows when the old tokenizer gives none)."""
    import torch

    old = matrix.double()
    fallback = old[: plan.old_size].mean(dim=0)
    rows = fallback.expand(plan.new_size, old.shape[1]).clone()
    if plan.copied:
        rows[torch.tensor(list(plan.copied))] = old[torch.tensor(list(plan.copied.values()))]
    for new_id, pieces in zip(plan.new_ids, plan.sub_tokens, strict=True):
        if pieces:
            rows[new_id] = old[torch.tensor(pieces)].mean(dim=0)
    return rows


def _load(path: str, what: str) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory = Path(path).expanduser()
    if directory.exists() and not (directory / "config.json").is_file():
        raise ConfigError(f"--{what} {path}: no config.json", hint="pass a transformers model directory")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    except (OSError, ValueError) as e:
        raise ConfigError(f"--{what} {path}: cannot load: {first_line(e)}") from None
    return model, tokenizer


def _check_compatible(models: dict[str, Any]) -> bool:
    """Same architecture and sizes; returns whether the models tie their embeddings (all must agree)."""
    configs = {name: m.config for name, m in models.items()}
    for key in ("model_type", "hidden_size", "num_hidden_layers"):
        values = {name: getattr(c, key, None) for name, c in configs.items()}
        if len(set(values.values())) > 1:
            shown = ", ".join(f"{n} {v}" for n, v in values.items())
            raise RuLLMError(f"LEP needs models of one architecture, but {key} differs: {shown}")
    ties = {name: bool(m.config.tie_word_embeddings) for name, m in models.items()}
    if len(set(ties.values())) > 1:
        shown = ", ".join(f"{n} {'tied' if t else 'untied'}" for n, t in ties.items())
        raise RuLLMError(f"LEP needs the three models to agree on tied embeddings: {shown}")
    return next(iter(ties.values()))


def propagate(
    base: str, instruct: str, adapted_base: str, out: str | Path, *, mode: Mode = "conversion", overwrite: bool = False
) -> LEPReport:
    """Write the instruct model with the adapted vocabulary into ``out`` (a plain HF model directory)."""
    import torch

    from ru_llm.core.atomic import atomic_directory, check_output_dir
    from ru_llm.tokenize.resize import plan_rows

    if mode not in MODES:
        raise ConfigError(f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    out = Path(out)
    check_output_dir(out, overwrite=overwrite, inputs=[p for p in (base, instruct, adapted_base) if Path(p).exists()])
    b, tok_b = _load(base, "base")
    i, tok_i = _load(instruct, "instruct")
    b2, tok_b2 = _load(adapted_base, "adapted-base")
    tied = _check_compatible({"base": b, "instruct": i, "adapted base": b2})
    plan = plan_rows(tok_b, tok_b2)  # reads each vocabulary once; its sizes and the new vocabulary are reused below
    if b2.get_input_embeddings().weight.shape[0] < plan.new_size:
        raise RuLLMError(
            f"--adapted-base {adapted_base}: {b2.get_input_embeddings().weight.shape[0]} embedding rows for a "
            f"tokenizer of {plan.new_size} ids",
            hint="resize it first: ru-llm tokenize resize-model",
        )
    if not plan.copied:
        raise RuLLMError("--adapted-base: its vocabulary shares no token with the base's; is it an adaptation of B?")
    if plan.new_size == plan.old_size and not plan.new_ids and not plan.moved:
        raise RuLLMError("--adapted-base has the base's own vocabulary: nothing to propagate")
    # special and chat tokens of the instruct tokenizer keep the instruct model's rows
    special = {token: tok_i.convert_tokens_to_ids(token) for token in tok_i.all_special_tokens}
    special |= {t.content: idx for idx, t in tok_i.added_tokens_decoder.items()}
    b2_vocab = plan.new_vocab
    keep = {b2_vocab[t]: old for t, old in special.items() if t in b2_vocab and isinstance(old, int)}

    report = LEPReport(str(out), mode, tied, plan.old_size, plan.new_size)
    pairs = [("input_embeddings", b.get_input_embeddings(), i.get_input_embeddings(), b2.get_input_embeddings())]
    if not tied:
        pairs.append(("lm_head", b.get_output_embeddings(), i.get_output_embeddings(), b2.get_output_embeddings()))
    new_weights = {}
    for name, mb, mi, mb2 in pairs:
        eb, ei, eb2 = mb.weight.detach(), mi.weight.detach(), mb2.weight.detach()
        rows = min(eb.shape[0], ei.shape[0])
        if mode == "swap":
            projection, residual, fitted = torch.eye(eb.shape[1], dtype=torch.float64), 0.0, 0
        elif mode == "overlap":
            old_ids = torch.tensor([old for old in plan.copied.values() if old < rows])
            projection, residual = fit_projection(eb[old_ids], ei[old_ids])
            fitted = len(old_ids)
        else:
            projection, residual = fit_projection(converted(eb[:rows], plan), converted(ei[:rows], plan))
            fitted = plan.new_size
        new = (eb2.double() @ projection).to(eb2.dtype)
        for new_id, old_id in keep.items():
            if old_id < ei.shape[0] and new_id < new.shape[0]:
                new[new_id] = ei[old_id]
        new_weights[name] = new
        report.fits.append(MatrixFit(name, fitted, round(residual, 8), len(keep)))

    rows = eb2.shape[0]
    i.resize_token_embeddings(rows, mean_resizing=False)
    with torch.no_grad():
        i.get_input_embeddings().weight.copy_(new_weights["input_embeddings"])
        if tied:
            i.tie_weights()
        else:
            i.get_output_embeddings().weight.copy_(new_weights["lm_head"])
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        value = getattr(tok_b2, key, None)
        if value is not None:
            setattr(i.config, key, value)
            if i.generation_config is not None:
                setattr(i.generation_config, key, value)
    missing = [t for t in special if t not in b2_vocab]
    if missing:
        tok_b2.add_special_tokens({"additional_special_tokens": missing})
    if getattr(tok_i, "chat_template", None):
        tok_b2.chat_template = tok_i.chat_template
    with atomic_directory(out, command="train lep") as work:
        i.save_pretrained(str(work), safe_serialization=True)
        tok_b2.save_pretrained(str(work))
        (work / "lep_report.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return report
