"""Interning pools so a million generated items share their repeated values (dates, tags, siblings, configs...)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Final

from .vocab import ARCHS, DTYPES

OLD_CREATED: Final = "2022-03-02T23:29:04.000Z"  # every repo older than the March 2022 migration carries this date
OLD_EPOCH: Final = int(dt.datetime(2022, 3, 2, 23, 29, 4, tzinfo=dt.UTC).timestamp())
DAYS: Final = (dt.date(2026, 8, 20) - dt.date(2022, 3, 3)).days
START_EPOCH = int(dt.datetime(2022, 3, 3, tzinfo=dt.UTC).timestamp())

_EMPTY: Final[list[Any]] = []


class Pools:
    """Caches keyed by content: each method returns a shared object, so identical values cost memory once."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.date_strings: list[str] = []
        self.date_epochs: list[int] = []
        self.tags: dict[tuple[str, ...], list[str]] = {}
        self.safetensors: dict[tuple[str, int, int], dict[str, Any]] = {}
        self.card: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.siblings: dict[tuple[Any, ...], list[dict[str, str]]] = {}
        self.space_lists = [_EMPTY] + [
            [f"demo-{rng.randrange(10**6):06d}/playground-{k}" for k in range(rng.randint(1, 4))] for _ in range(48)
        ]
        self.ints: dict[int, int] = {}

    def build_dates(self, size: int) -> None:
        """A sorted pool of `size` timestamps (skewed recent: the Hub grows fast) that models index into.

        Models share these strings; exact-second ties on createdAt then happen, which exercises `_id` tie-breaks.
        """
        rng = self.rng
        epochs = sorted(
            START_EPOCH + int(DAYS * rng.random() ** 0.6) * 86400 + rng.randrange(86400) for _ in range(size)
        )
        self.date_epochs = epochs
        self.date_strings = [dt.datetime.fromtimestamp(e, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z") for e in epochs]

    def tag_list(self, tags: tuple[str, ...]) -> list[str]:
        found = self.tags.get(tags)
        if found is None:
            found = self.tags[tags] = list(tags)
        return found

    def intern_int(self, value: int) -> int:
        """Share int objects for recurring values (param counts, context lengths)."""
        return self.ints.setdefault(value, value)

    def safetensors_for(self, total: int) -> dict[str, Any]:
        """`{"parameters": {dtype: n, ...}, "total": total}`; totals are pre-rounded so the pool stays small.

        About one in eight has a second dtype, as recorded bodies do (`{"F32": ..., "I64": 512}`: position ids).
        """
        dtype = self.rng.choice(DTYPES)
        extra = 512 if total > 1024 and self.rng.random() < 0.125 else 0
        key = (dtype, total, extra)
        found = self.safetensors.get(key)
        if found is None:
            total = self.intern_int(total)
            params = {dtype: total - extra, "I64": extra} if extra else {dtype: total}
            found = self.safetensors[key] = {"parameters": params, "total": total}
        return found

    def card_data(
        self, license_: str, language: str | None, library: str | None, tag: str | None, base: str | None
    ) -> dict[str, Any]:
        key = (license_, language, library, tag, base)
        found = self.card.get(key)
        if found is None:
            card: dict[str, Any] = {"license": license_}
            if language is not None:
                card["language"] = [language]
            if library is not None:
                card["library_name"] = library
            if tag is not None:
                card["pipeline_tag"] = tag
            if base is not None:
                card["base_model"] = base
            found = self.card[key] = card
        return found

    def config(self, family: str, arch_index: int) -> dict[str, Any]:
        """A config shaped like the Hub's summary of config.json for that (invented) architecture."""
        archs = ARCHS.get(family) or ARCHS["other"]
        model_type, cls = archs[arch_index % len(archs)]
        found = self.configs.get(model_type)
        if found is None:
            if family == "diffusion":
                found = {"diffusers": {"_class_name": model_type}}
            else:
                found = {"architectures": [cls or "GenericModel"], "model_type": model_type}
                if family in ("llm", "vlm"):
                    found["tokenizer_config"] = {
                        "bos_token": "<|begin|>",
                        "eos_token": "<|end|>",
                        "pad_token": None,
                        "chat_template": "{% for m in messages %}...{% endfor %}",
                    }
            self.configs[model_type] = found
        return found

    def sibling_list(self, library: str | None, has_safetensors: bool, shards: int, gguf: bool) -> list[dict[str, str]]:
        key = (library, has_safetensors, shards, gguf)
        found = self.siblings.get(key)
        if found is None:
            names = [".gitattributes", "README.md"]
            if gguf:
                names += [f"model-{q}.gguf" for q in ("Q2_K", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")]
            elif library == "diffusers":
                names += [
                    "model_index.json",
                    "scheduler/scheduler_config.json",
                    "text_encoder/config.json",
                    "unet/config.json",
                    "unet/diffusion_pytorch_model.safetensors",
                    "vae/config.json",
                    "vae/diffusion_pytorch_model.safetensors",
                ]
            else:
                names.append("config.json")
                if has_safetensors and shards > 1:
                    names += [f"model-{k:05d}-of-{shards:05d}.safetensors" for k in range(1, shards + 1)]
                    names.append("model.safetensors.index.json")
                elif has_safetensors:
                    names.append("model.safetensors")
                else:
                    names.append("pytorch_model.bin")
                if library in ("transformers", "sentence-transformers", None):
                    names += ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
            found = self.siblings[key] = [{"rfilename": n} for n in names]
        return found
