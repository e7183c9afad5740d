"""CTranslate2 backend: the HF seq2seq models (M2M100/WMT21, NLLB, Marian) converted, several times faster.

``--model`` is either a directory already converted (``model.bin`` + vocabulary) or an HF model (dir or
hub id) that is converted once into a cache directory. The tokenizer is always the HF one: the
converted directory keeps a copy under ``hf_tokenizer/``.

CTranslate2's defaults would silently cut text (inputs at 1024 tokens, outputs at 256, beam size 2):
every call sets them from the :class:`Decoding` and the model's limits instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from ru_llm.core import ConfigError, RuLLMError
from ru_llm.core.cache import cache_root
from ru_llm.core.options import parse_device
from ru_llm.translate.backends._common import (
    LOCAL_MODEL_HINT,
    LanguageCodes,
    TokenizedTranslator,
    as_int,
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
from ru_llm.translate.backends.hf import load_tokenizer, require_transformers

INSTALL_HINT = 'pip install "ru-llm-translate[ct2]" (or: uv add ctranslate2)'
TOKENIZER_DIR = "hf_tokenizer"
SOURCE_FILE = "ru_llm_source.json"  # what a cached conversion was made from
CT2_DEVICES = ("cpu", "cuda", "auto")  # CTranslate2 has no MPS
QUANTIZATIONS = ("int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16", "bfloat16", "float32")


def require_ctranslate2() -> Any:
    try:
        import ctranslate2
    except ImportError:
        raise RuLLMError("the ct2 backend needs CTranslate2, which is not installed", hint=INSTALL_HINT) from None
    return ctranslate2


def is_ct2_dir(path: Path) -> bool:
    return (path / "model.bin").is_file() and any(
        (path / name).is_file()
        for name in (
            "shared_vocabulary.json",
            "shared_vocabulary.txt",
            "source_vocabulary.json",
            "source_vocabulary.txt",
        )
    )


def default_cache_dir() -> Path:
    return cache_root() / "ct2"


class _FullVocabulary:
    """A tokenizer view whose ``get_vocab()`` includes the M2M100 language tokens.

    transformers v5's M2M100 tokenizer keeps ``__ru__`` and friends out of ``get_vocab()`` and out of
    ``additional_special_tokens``, where CTranslate2's converter looks for them; without this the
    converted vocabulary is 100 tokens short and the conversion fails.
    """

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)

    def get_vocab(self) -> dict[str, int]:
        vocab = dict(self._tokenizer.get_vocab())
        for token, index in (getattr(self._tokenizer, "lang_token_to_id", None) or {}).items():
            vocab.setdefault(token, index)
        return vocab


def convert(backend: str, model_id: str, local: Path | None, out: Path, quantization: str | None) -> Path:
    """Convert an HF model to CTranslate2 in ``out`` (atomically: a half-written dir is never used)."""
    ctranslate2 = require_ctranslate2()
    from ctranslate2.converters import TransformersConverter

    class Converter(TransformersConverter):
        def load_tokenizer(self, tokenizer_class: Any, model_name_or_path: str, **kwargs: Any) -> Any:
            return _FullVocabulary(super().load_tokenizer(tokenizer_class, model_name_or_path, **kwargs))

        def load_model(self, model_class: Any, model_name_or_path: str, **kwargs: Any) -> Any:
            if local is not None and any(local.glob("*.safetensors")):
                kwargs["use_safetensors"] = True
            return super().load_model(model_class, model_name_or_path, **kwargs)

    tokenizer = load_tokenizer(model_id)
    transformers = require_transformers()
    positions = getattr(transformers.AutoConfig.from_pretrained(model_id), "max_position_embeddings", None)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        try:
            Converter(model_id).convert(str(work / "model"), quantization=quantization, force=True)
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            hint = (
                "convert it yourself (ct2-transformers-converter) and load the converted directory, "
                f"or use the HF backend; where the hub is unreachable, {LOCAL_MODEL_HINT}"
            )
            error = load_error(backend, model_id, e, verb="convert", hint=hint)
            raise error from e
        tokenizer.save_pretrained(work / "model" / TOKENIZER_DIR)
        source = {
            "model": model_id,
            "quantization": quantization,
            "max_position_embeddings": positions,
            "ctranslate2": ctranslate2.__version__,
        }
        (work / "model" / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
        if out.exists():  # another process converted it meanwhile
            return out
        os.replace(work / "model", out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def conversion_dir(cache_dir: Path, model_id: str, local: Path | None, quantization: str | None) -> Path:
    """Where the conversion of ``model_id`` goes; a changed local model gets a new directory."""
    stamp = model_id
    if local is not None:
        files = sorted(p for p in local.iterdir() if p.is_file())
        stamp += "".join(f"|{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    digest = hashlib.sha256(f"{stamp}|{quantization}".encode()).hexdigest()[:16]
    return cache_dir / f"{Path(model_id).name}-{quantization or 'auto'}-{digest}"


class CT2Translator(TokenizedTranslator):
    def __init__(
        self, translator: Any, tokenizer: Any, model_id: str, codes: LanguageCodes, max_positions: int, prefix: str
    ) -> None:
        self.translator = translator
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.codes = codes
        self.prefix = prefix
        self.max_input_tokens = max_positions
        self._target_prefix = [codes.target_token] if codes.target_token else None
        # CTranslate2 counts the target prefix in max_decoding_length; leave room for it and the start token.
        self.max_output_tokens = max_positions - 1 - len(self._target_prefix or [])
        self.eos_token = tokenizer.eos_token

    def translate(self, texts: Sequence[str], decoding: Decoding) -> list[Translation]:
        if not texts:
            return []
        encoded = self._encode(texts)
        truncated = [len(ids) > self.max_input_tokens for ids in encoded]
        # Cut by hand (keeping the final </s>), so the hit_cap flag can tell.
        encoded = [ids if len(ids) <= self.max_input_tokens else [*ids[: self.max_input_tokens - 1], ids[-1]]
                   for ids in encoded]  # fmt: skip
        source = [self.tokenizer.convert_ids_to_tokens(ids) for ids in encoded]
        limits = budgets([len(ids) for ids in encoded], decoding, self.max_output_tokens)
        prefix_len = len(self._target_prefix or [])
        results = self.translator.translate_batch(
            source,
            target_prefix=[self._target_prefix] * len(source) if self._target_prefix else None,
            beam_size=decoding.num_beams,
            no_repeat_ngram_size=decoding.no_repeat_ngram_size,
            repetition_penalty=decoding.repetition_penalty,
            max_input_length=self.max_input_tokens,
            max_decoding_length=max(limits) + prefix_len,
            return_end_token=True,
            num_hypotheses=1,
        )
        out = []
        for result, limit, cut in zip(results, limits, truncated, strict=True):
            tokens = result.hypotheses[0][prefix_len:]
            content, hit_cap = cut_output(tokens, self.eos_token, limit)
            ids = self.tokenizer.convert_tokens_to_ids(content)
            text = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
            out.append(Translation(text=text, hit_cap=hit_cap or cut))
        return out

    def close(self) -> None:
        if self.translator is not None:
            self.translator.unload_model()
            self.translator = None


class CT2Backend(TranslatorBackend):
    """CTranslate2 on a converted model (or an HF one converted on the fly into a cache dir).

    Options: ``device`` (cpu, cuda, cuda:N, auto), ``device_index`` (the N of cuda:N), ``compute_type``
    (CTranslate2's: default, int8, float16, bfloat16, ...), ``quantization`` (at conversion),
    ``cache_dir`` (for conversions), ``tokenizer`` (HF tokenizer dir, if a converted dir has none),
    ``domain`` (a tag before every segment, e.g. ``"wmtdata newsdomain"``), ``inter_threads``,
    ``intra_threads``.
    """

    name: ClassVar[str] = "ct2"
    aliases: ClassVar[tuple[str, ...]] = ("ctranslate2",)
    description = (
        "CTranslate2 (extra [ct2]): the wmt21/m2m100/nllb/marian models converted; several times the "
        "throughput of HF generate. The licence is the converted model's (NLLB: non-commercial)"
    )
    default_model = "facebook/wmt21-dense-24-wide-en-x"
    model_license = "MIT"
    commercial = True

    def load(self, model: str | None = None, **options: Any) -> CT2Translator:
        defaults = {
            "device": "auto",
            "device_index": 0,
            "compute_type": "default",
            "quantization": None,
            "cache_dir": None,
            "tokenizer": None,
            "domain": None,
            "inter_threads": 1,
            "intra_threads": 0,
        }
        opts = take_options(self.name, options, defaults)
        model_id, local = resolve_model(self.name, model, self.default_model)
        ctranslate2 = require_ctranslate2()
        quantization = opts["quantization"] or None
        if quantization is not None and quantization not in QUANTIZATIONS:
            raise ConfigError(
                f"backend 'ct2' option 'quantization' must be one of {', '.join(QUANTIZATIONS)}, not {quantization!r}"
            )
        if local is not None and is_ct2_dir(local):
            ct2_dir = local
            source = json.loads((local / SOURCE_FILE).read_text()) if (local / SOURCE_FILE).is_file() else {}
            source_model = source.get("model", model_id)
        else:
            cache = Path(opts["cache_dir"]).expanduser() if opts["cache_dir"] else default_cache_dir()
            ct2_dir = conversion_dir(cache, model_id, local, quantization)
            if not is_ct2_dir(ct2_dir):
                ct2_dir = convert(self.name, model_id, local, ct2_dir, quantization)
            source_model = model_id
        tokenizer_dir = opts["tokenizer"] or (
            ct2_dir / TOKENIZER_DIR if (ct2_dir / TOKENIZER_DIR).is_dir() else ct2_dir
        )
        tokenizer = load_tokenizer(str(tokenizer_dir))
        codes = language_codes(tokenizer)
        prepare_tokenizer(tokenizer, codes)
        device, device_index = ct2_device(opts["device"], options.get("device_index"), ctranslate2)
        try:
            translator = ctranslate2.Translator(
                str(ct2_dir),
                device=device,
                device_index=device_index,
                compute_type=str(opts["compute_type"]),
                inter_threads=int(opts["inter_threads"]),
                intra_threads=int(opts["intra_threads"]),
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise load_error(self.name, str(ct2_dir), e) from e
        domain = opts["domain"] or None
        compute = None if opts["compute_type"] == "default" else opts["compute_type"]
        model_name = with_settings(f"ct2:{source_model}", quantization=quantization, compute=compute, domain=domain)
        return CT2Translator(
            translator, tokenizer, model_name, codes, _max_positions(ct2_dir, tokenizer), f"{domain} " if domain else ""
        )


def ct2_device(device: Any, device_index: Any, ctranslate2: Any) -> tuple[str, int]:
    """CTranslate2's ``(device, device_index)`` for the one device rule: ``cuda:N`` is ``("cuda", N)``."""
    chosen = parse_device(device, supported=CT2_DEVICES, where="backend 'ct2' option 'device'")
    index = None if device_index is None else as_int("ct2", "device_index", device_index)
    if chosen.index is not None and index is not None and index != chosen.index:
        raise ConfigError(
            f"backend 'ct2': device {str(chosen)!r} and device_index {index} name different GPUs",
            hint="give the GPU once: device=cuda:N",
        )
    kind = chosen.kind
    if kind == "auto":
        kind = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    return kind, chosen.index if chosen.index is not None else (index or 0)


def _max_positions(ct2_dir: Path, tokenizer: Any) -> int:
    """The model's input/output position limit (recorded at conversion, else the tokenizer's, else 1024)."""
    for config_file in (ct2_dir / SOURCE_FILE, ct2_dir / TOKENIZER_DIR / "config.json"):
        if config_file.is_file():
            positions = json.loads(config_file.read_text()).get("max_position_embeddings")
            if positions:
                return int(positions)
    model_max = getattr(tokenizer, "model_max_length", None)
    return int(model_max) if model_max and model_max < 1_000_000 else 1024
