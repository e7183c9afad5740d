"""SimPO, CPO and ORPO for ``strategy: dpo``: preference losses without a reference model.

TRL keeps them out of ``DPOTrainer``, in ``trl.experimental.cpo.CPOTrainer`` (``loss_type`` ``simpo``
or ``sigmoid``, plus an NLL term weighted by ``cpo_alpha``) and ``trl.experimental.orpo.ORPOTrainer``
(odds-ratio term weighted by ``beta``, the paper's lambda, on top of the NLL). Those trainers read
text and tokenize it themselves; here they get our template tokens in their batch layout instead
(``prompt_input_ids``, ``chosen_input_ids`` with ``chosen_labels`` masking the prompt, the same for
rejected), so the replies and masks are exactly those of the DPO and SFT paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ru_llm.core.labels import IGNORE_INDEX
from ru_llm.train.config import RunConfig
from ru_llm.train.strategy import TrainerParts

_SOURCE_COLUMNS = ["prompt_ids", "chosen_ids", "rejected_ids"]


def reference_free_arguments(config: RunConfig) -> dict[str, Any]:
    """CPOConfig / ORPOConfig values for ``dpo.loss`` simpo, cpo or orpo."""
    dpo = config.dpo
    loss = dpo.losses[0]
    values: dict[str, Any] = {
        "beta": dpo.beta,
        "max_length": config.max_length,  # the pairs are cut to it already
        "disable_dropout": True,
        "label_names": [],
    }
    if loss in ("simpo", "cpo"):
        values.update(
            loss_type="simpo" if loss == "simpo" else "sigmoid",
            cpo_alpha=dpo.cpo_alpha if dpo.cpo_alpha is not None else (0.0 if loss == "simpo" else 1.0),
            simpo_gamma=dpo.simpo_gamma if dpo.simpo_gamma is not None else 0.5,
            label_smoothing=dpo.label_smoothing,
        )
    return values


def as_trl_pairs(dataset: Any) -> Any:
    """Our ``prompt_ids``/``chosen_ids``/``rejected_ids`` rows in the CPO/ORPO trainers' tokenized layout."""

    def convert(row: dict[str, list[int]]) -> dict[str, list[int]]:
        prompt = row["prompt_ids"]
        out = {"prompt_input_ids": prompt, "prompt_attention_mask": [1] * len(prompt)}
        for side in ("chosen", "rejected"):
            reply = row[f"{side}_ids"]
            out[f"{side}_input_ids"] = prompt + reply
            out[f"{side}_attention_mask"] = [1] * (len(prompt) + len(reply))
            out[f"{side}_labels"] = [IGNORE_INDEX] * len(prompt) + reply
        return out

    return dataset.map(convert, remove_columns=_SOURCE_COLUMNS)


def _counting_collator(pad_id: int, counter: Any) -> Callable[[list[dict[str, Any]]], Any]:
    from trl.experimental.utils import DPODataCollatorWithPadding

    collate = DPODataCollatorWithPadding(pad_token_id=pad_id)

    def collator(examples: list[dict[str, Any]]) -> Any:
        batch = collate(examples)
        counter.collated(int(batch["chosen_attention_mask"].sum() + batch["rejected_attention_mask"].sum()))
        return batch

    return collator


def reply_nll(chosen_logits: Any, chosen_labels: Any) -> Any:
    """Mean NLL of the chosen replies' tokens: ``chosen_logits`` [B, T-1, V] predict positions 1..T-1."""
    import torch

    labels = chosen_labels[:, 1:]
    width = chosen_logits.shape[1]
    if labels.shape[1] < width:  # the batch's rejected replies may be longer: pad with "not trained"
        labels = torch.nn.functional.pad(labels, (0, width - labels.shape[1]), value=IGNORE_INDEX)
    labels = labels[:, :width].to(chosen_logits.device)
    return torch.nn.functional.cross_entropy(
        chosen_logits.reshape(-1, chosen_logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_INDEX
    )


def reference_free_parts(config: RunConfig, tokenizer: Any, counter: Any) -> TrainerParts:
    import warnings

    from ru_llm.train.strategies.trl_required import require_trl

    require_trl(f"dpo.loss: {config.dpo.losses[0]}")
    with warnings.catch_warnings():  # importing trl.experimental warns that it is experimental
        warnings.simplefilter("ignore")
        if config.dpo.losses[0] == "orpo":
            from trl.experimental.orpo import ORPOConfig as Arguments
            from trl.experimental.orpo import ORPOTrainer as Base
        else:
            from trl.experimental.cpo import CPOConfig as Arguments
            from trl.experimental.cpo import CPOTrainer as Base

    class ReferenceFreeTrainer(Base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, train_dataset: Any = None, eval_dataset: Any = None, **kwargs: Any) -> None:
            super().__init__(
                *args,
                train_dataset=as_trl_pairs(train_dataset),
                eval_dataset=as_trl_pairs(eval_dataset) if eval_dataset is not None else None,
                **kwargs,
            )

        def tokenize_row(self, feature: Any, model: Any = None) -> dict[str, Any]:
            return {}  # the rows are our template tokens already (see the module docstring)

        if config.dpo.losses[0] == "orpo":

            def concatenated_forward(self, model: Any, batch: dict[str, Any]) -> Any:
                # TRL's ORPO takes its NLL term over prompt and reply alike; the ORPO paper's SFT term,
                # and every other path here, trains the reply only: recompute it on chosen_labels
                out = list(super().concatenated_forward(model, batch))
                out[4] = reply_nll(out[2], batch["chosen_labels"])
                return tuple(out)

    options = {"processing_class": tokenizer, "data_collator": _counting_collator(tokenizer.pad_token_id, counter)}
    return TrainerParts(trainer_class=ReferenceFreeTrainer, arguments_class=Arguments, options=options)
