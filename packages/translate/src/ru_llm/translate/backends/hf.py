"""Hugging Face seq2seq backends: wmt21 (the paper's model), m2m100, nllb, marian.

One implementation serves all four: the model's tokenizer tells how languages are chosen (M2M100 and
WMT21: ``__ru__`` via ``get_lang_id``; NLLB: ``rus_Cyrl``; Marian: bilingual, nothing to choose).
transformers v5 has no translation pipeline, so this is tokenizer + ``generate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from ru_llm.core import ConfigError, RuLLMError
from ru_llm.core.hf import load_tokenizer as core_load_tokenizer
from ru_llm.core.options import Device, parse_device
from ru_llm.translate.backends._common import (
    LOCAL_MODEL_HINT,
    LanguageCodes,
    TokenizedTranslator,
    budgets,
    cut_output,
    language_codes,
    load_error,
    prepare_tokenizer,
    resolve_model,
    take_options,
    with_settings,
)
from ru_llm.translate.backends.base import Decoding, Translation, TranslatorBackend

INSTALL_HINT = 'pip install "ru-llm-translate[hf]" (torch, transformers, sentencepiece)'
DTYPES = ("auto", "float32", "float16", "bfloat16")


def require_transformers() -> Any:
    try:
        import torch  # noqa: F401
        import transformers
    except ImportError:
        raise RuLLMError("the HF translation backends need torch and transformers", hint=INSTALL_HINT) from None
    return transformers


def pick_device(backend: str, device: str | Device) -> str:
    """torch's device for the one device rule (:func:`~ru_llm.core.options.parse_device`): cpu, cuda,
    cuda:N, mps, or auto (CUDA when there is one, else the CPU)."""
    import torch

    chosen = parse_device(device, where=f"backend {backend!r} option 'device'")
    if chosen.kind == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if chosen.kind == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"backend {backend!r}: device {str(chosen)!r} asked for, but CUDA is not available")
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise ConfigError(
                f"backend {backend!r}: device {str(chosen)!r} asked for, but there are "
                f"{torch.cuda.device_count()} CUDA devices (cuda:0 to cuda:{torch.cuda.device_count() - 1})"
            )
    if chosen.kind == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"backend {backend!r}: device 'mps' asked for, but MPS is not available")
    return str(chosen)


def pick_dtype(backend: str, dtype: str, device: str) -> Any:
    """The torch dtype: ``auto`` is float32 on CPU and bfloat16 (float16 where unsupported) on CUDA."""
    import torch

    if dtype not in DTYPES:
        raise ConfigError(f"backend {backend!r} option 'dtype' must be one of {', '.join(DTYPES)}, not {dtype!r}")
    if dtype == "auto":
        if not device.startswith("cuda"):
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return getattr(torch, dtype)


def has_safetensors(path: Path | None) -> bool | None:
    """``True`` for a local dir with safetensors weights; ``None`` (let transformers choose) otherwise."""
    return True if path is not None and any(path.glob("*.safetensors")) else None


def load_tokenizer(model_id: str) -> Any:
    """The model's tokenizer through core's one loader, with this package's install and model hints."""
    return core_load_tokenizer(model_id, hint=LOCAL_MODEL_HINT, package="ru-llm-translate", extra="hf")


class HFSeq2SeqTranslator(TokenizedTranslator):
    """A loaded HF encoder-decoder model with its tokenizer."""

    def __init__(self, model: Any, tokenizer: Any, model_id: str, codes: LanguageCodes, prefix: str = "") -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.codes = codes
        self.prefix = prefix  # e.g. the WMT21 domain tag, put before every segment
        config = model.config
        positions = getattr(config, "max_position_embeddings", None) or 1024
        model_max = getattr(tokenizer, "model_max_length", None)
        self.max_input_tokens = min(positions, model_max) if model_max and model_max < 1_000_000 else positions
        self.forced_bos_token_id = (
            tokenizer.convert_tokens_to_ids(codes.target_token) if codes.target_token is not None else None
        )
        self._prefix_tokens = 1 if self.forced_bos_token_id is not None else 0
        # The decoder's positions: the start token and the language token take some of them.
        self.max_output_tokens = positions - 1 - self._prefix_tokens
        self.eos_token_id = model.generation_config.eos_token_id or config.eos_token_id
        if isinstance(self.eos_token_id, list):
            self.eos_token_id = self.eos_token_id[0]

    def translate(self, texts: Sequence[str], decoding: Decoding) -> list[Translation]:
        import torch

        if not texts:
            return []
        lengths = self.count_tokens(texts)
        truncated = [n > self.max_input_tokens for n in lengths]
        batch = self.tokenizer(
            [self.prefix + t for t in texts],
            padding=True,
            truncation=True,
            max_length=self.max_input_tokens,
            return_tensors="pt",
        ).to(self.model.device)
        limits = budgets([min(n, self.max_input_tokens) for n in lengths], decoding, self.max_output_tokens)
        kwargs: dict[str, Any] = {
            "num_beams": decoding.num_beams,
            "no_repeat_ngram_size": decoding.no_repeat_ngram_size,
            "repetition_penalty": decoding.repetition_penalty,
            "do_sample": False,
            # The budget is set here; the config's max_length (200 for WMT21) must not cut it shorter.
            "max_new_tokens": max(limits) + self._prefix_tokens,
            "max_length": None,
            # Marian and M2M100 configs force EOS at the last step, which would hide a cut-off output.
            "forced_eos_token_id": None,
        }
        if self.forced_bos_token_id is not None:
            kwargs["forced_bos_token_id"] = self.forced_bos_token_id
        with torch.inference_mode():
            sequences = self.model.generate(**batch, **kwargs)
        results = []
        for row, limit, cut in zip(sequences.tolist(), limits, truncated, strict=True):
            # row: decoder start token, the forced language token, then the translation
            content, hit_cap = cut_output(row[1 + self._prefix_tokens :], self.eos_token_id, limit)
            text = self.tokenizer.decode(content, skip_special_tokens=True).strip()
            results.append(Translation(text=text, hit_cap=hit_cap or cut))
        return results

    def close(self) -> None:
        self.model = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover
            pass


class HFSeq2SeqBackend(TranslatorBackend):
    """Any HF encoder-decoder translation model (M2M100, WMT21, NLLB, Marian), local dir or hub id.

    Options: ``device`` (cpu, cuda, cuda:N, mps, auto), ``dtype`` (auto, float32, float16, bfloat16),
    ``domain`` (a tag put before every segment, e.g. WMT21's ``"wmtdata newsdomain"``).
    """

    name: ClassVar[str] = "hf"
    default_domain: ClassVar[str | None] = None

    def options(self) -> dict[str, Any]:
        return {"device": "auto", "dtype": "auto", "domain": self.default_domain}

    def load(self, model: str | None = None, **options: Any) -> HFSeq2SeqTranslator:
        opts = take_options(self.name, options, self.options())
        model_id, local = resolve_model(self.name, model, self.default_model)
        if local is not None and not (local / "config.json").is_file():
            raise RuLLMError(
                f"backend {self.name!r}: {local} has no config.json, so it is not a transformers model directory",
                hint="give the directory of a saved model (config.json, weights, tokenizer files)",
            )
        transformers = require_transformers()
        device = pick_device(self.name, str(opts["device"]))
        dtype = pick_dtype(self.name, str(opts["dtype"]), device)
        tokenizer = load_tokenizer(model_id)
        try:
            config = transformers.AutoConfig.from_pretrained(model_id)
            if not getattr(config, "is_encoder_decoder", False):
                raise RuLLMError(
                    f"backend {self.name!r}: {model_id} is a {config.model_type} model, not an encoder-decoder "
                    "translation model",
                    hint="use an M2M100, NLLB or Marian model",
                )
            seq2seq = transformers.AutoModelForSeq2SeqLM.from_pretrained(
                model_id, dtype=dtype, use_safetensors=has_safetensors(local)
            )
        except (OSError, ValueError, KeyError) as e:
            raise load_error(self.name, model_id, e) from e
        seq2seq.to(device).eval()
        codes = language_codes(tokenizer)
        prepare_tokenizer(tokenizer, codes)
        domain = opts["domain"] or None
        prefix = f"{domain} " if domain else ""
        dtype_name = str(dtype).removeprefix("torch.")
        return HFSeq2SeqTranslator(
            seq2seq,
            tokenizer,
            with_settings(model_id, domain=domain, dtype=None if dtype_name == "float32" else dtype_name),
            codes,
            prefix,
        )


class Wmt21Backend(HFSeq2SeqBackend):
    name = "wmt21"
    description = (
        "facebook/wmt21-dense-24-wide-en-x (4.7B), the model of the translate-and-tune paper; "
        "M2M100 classes, __ru__ forced; option domain='wmtdata newsdomain' adds the WMT21 domain tag"
    )
    default_model = "facebook/wmt21-dense-24-wide-en-x"
    model_license = "MIT"
    commercial = True


class M2M100Backend(HFSeq2SeqBackend):
    name = "m2m100"
    description = "facebook/m2m100_418M (or 1.2B): many-to-many M2M100, __en__ -> __ru__"
    default_model = "facebook/m2m100_418M"
    model_license = "MIT"
    commercial = True


class NllbBackend(HFSeq2SeqBackend):
    name = "nllb"
    description = (
        "facebook/nllb-200-distilled-600M (or 1.3B / 3.3B): eng_Latn -> rus_Cyrl; "
        "weights licensed CC-BY-NC-4.0: non-commercial use only, so keep its translations out of commercial datasets"
    )
    default_model = "facebook/nllb-200-distilled-600M"
    model_license = "CC-BY-NC-4.0"
    commercial = False

    def info(self) -> dict[str, Any]:
        return {**super().info(), "warning": "NLLB weights are CC-BY-NC-4.0: non-commercial use only"}


class MarianBackend(HFSeq2SeqBackend):
    name = "marian"
    aliases = ("opus-mt",)
    description = "Helsinki-NLP/opus-mt-en-ru: a small bilingual Marian model, fast on CPU"
    default_model = "Helsinki-NLP/opus-mt-en-ru"
    model_license = "Apache-2.0"
    commercial = True
