"""Model profiles: precomputed repo "shapes" (task, library, tags, config, card, files, size) many models share."""

from __future__ import annotations

import math
import random
import sys
from bisect import bisect
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from .pools import Pools
from .vocab import ARCHS, DATASETS, LANGUAGES, LICENSES, LLM_SIZES_B, PIPELINES, TASK_FAMILY

_PIPE_CUM = list(accumulate(w for _, w, _ in PIPELINES))
_LICENSE_FLAT = tuple(lic for lic, w in LICENSES for _ in range(w))
_LICENSE_TAGS = {lic: sys.intern("license:" + lic) for lic, _ in LICENSES}
_QUANT_TAGS = ("4-bit", "8-bit", "awq", "gptq", "imatrix")
_TRAIN_TAGS = ("trl", "sft", "merge", "unsloth", "lora", "custom_code", "mergekit")
_NO_SAFETENSORS = frozenset({None, "gguf", "keras", "spacy", "flair"})
_CONFIG_LIBS = frozenset({"transformers", "diffusers", "sentence-transformers", "timm", "mlx"})
BASE_FAMILIES = ("llm", "vlm", "diffusion")  # families whose repos get finetuned / quantized / LoRA'd


@dataclass(slots=True, eq=False)
class Profile:
    """Everything about a repo that many repos share; items reference these objects instead of copying them."""

    tag: str | None
    family: str
    library: str | None
    conv: bool
    arch: int
    license: str
    language: str | None
    tags: list[str] = field(default_factory=list)
    config: dict[str, Any] | None = None
    card: dict[str, Any] | None = None
    siblings: list[dict[str, str]] = field(default_factory=list)
    safetensors: dict[str, Any] | None = None
    total: int = 0
    mask_token: str | None = None
    base_id: str | None = None


def family_of(tag: str | None) -> str:
    if tag == "reinforcement-learning":
        return "rl"
    return TASK_FAMILY.get(tag or "", "other")


class ProfileFactory:
    """Draws base profiles from the task/library distribution and derives finetune/quant/adapter variants."""

    def __init__(self, rng: random.Random, pools: Pools) -> None:
        self.rng = rng
        self.pools = pools
        self.derived: dict[tuple[int, str], Profile] = {}

    def draw(self, u: float | None = None) -> Profile:
        """A fresh profile from the Hub-like task mix; `u` in [0, 1) picks the task (stratified pools pass it)."""
        rng = self.rng
        tag, _, libs = PIPELINES[bisect(_PIPE_CUM, (rng.random() if u is None else u) * _PIPE_CUM[-1])]
        family = family_of(tag)
        conv = tag == "image-text-to-text" or (tag == "text-generation" and rng.random() < 0.7)
        language = rng.choice(LANGUAGES) if rng.random() < 0.5 else None
        prof = Profile(tag, family, rng.choice(libs), conv, rng.randrange(8), rng.choice(_LICENSE_FLAT), language)
        has_st = prof.library not in _NO_SAFETENSORS and rng.random() < 0.78
        self._finish(prof, has_st, self._params(family) if has_st else 0, extra=self._extra_tag(), base_tags=())
        return prof

    def derive(self, base: Profile, base_id: str, kind: str) -> Profile:
        """The profile of a repo derived from `base_id` (kind: finetune | quantized | gguf | adapter); cached."""
        key = (id(base), kind)
        found = self.derived.get(key)
        if found is not None:
            return found
        library = base.library
        if kind == "gguf":
            library = "gguf"
        elif kind == "adapter" and base.family != "diffusion":
            library = "peft"  # LLM adapters ship as PEFT repos; diffusion LoRAs stay diffusers
        prof = Profile(base.tag, base.family, library, base.conv, base.arch, base.license, base.language)
        prof.base_id = base_id
        rel = "quantized" if kind in ("gguf", "quantized") else kind
        has_st = library not in _NO_SAFETENSORS and kind != "adapter"
        extra = self.rng.choice(_QUANT_TAGS) if rel == "quantized" else ("lora" if kind == "adapter" else None)
        self._finish(
            prof,
            has_st,
            base.total or self._params(base.family),
            extra=extra,
            base_tags=("base_model:" + base_id, f"base_model:{rel}:{base_id}"),
        )
        self.derived[key] = prof
        return prof

    # ------------------------------------------------------------------ internals
    def _extra_tag(self) -> str | None:
        r = self.rng.random()
        if r < 0.15:
            return _TRAIN_TAGS[int(r * 100) % len(_TRAIN_TAGS)]
        if r > 0.9:
            return "dataset:" + DATASETS[int(r * 1000) % len(DATASETS)]
        return None

    def _params(self, family: str) -> int:
        """Parameter count rounded to 3 significant digits, drawn from task-typical ranges."""
        rng = self.rng
        if family in ("llm", "vlm"):
            total = rng.choice(LLM_SIZES_B) * 1e9 * rng.uniform(0.97, 1.08)
        else:
            lo, hi = {
                "encoder": (1.5e7, 6e8),
                "diffusion": (8e8, 1.2e10),
                "speech": (3e7, 2e9),
                "vision": (5e6, 7e8),
                "seq2seq": (6e7, 3e9),
            }.get(family, (1e6, 1e9))
            total = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        digits = max(0, int(math.log10(total)) - 2)
        return int(round(total / 10**digits) * 10**digits)

    def _finish(self, prof: Profile, has_st: bool, total: int, extra: str | None, base_tags: tuple[str, ...]) -> None:
        rng, pools = self.rng, self.pools
        lib, tag, family = prof.library, prof.tag, prof.family
        tags: list[str] = []
        if lib is not None:
            tags.append(lib)
        if has_st:
            tags.append("safetensors")
        archs = ARCHS.get(family)
        if archs and family != "other":
            tags.append(archs[prof.arch % len(archs)][0])
        if tag is not None:
            tags.append(tag)
        if prof.conv:
            tags.append("conversational")
        if extra is not None:
            tags.append(extra)
        if prof.language is not None:
            tags.append(prof.language)
        tags.extend(base_tags)
        tags.append(_LICENSE_TAGS[prof.license])
        if lib == "transformers" and family in ("llm", "vlm"):
            tags.append("text-generation-inference")
        if lib is not None and rng.random() < 0.8:
            tags.append("endpoints_compatible")
        tags.append("region:us")
        prof.tags = pools.tag_list(tuple(tags))
        if has_st:
            prof.safetensors = pools.safetensors_for(total)
            prof.total = prof.safetensors["total"]
        if tag == "fill-mask":
            prof.mask_token = "[MASK]" if prof.arch % 2 else "<mask>"
        if lib in _CONFIG_LIBS and rng.random() < 0.85:
            prof.config = pools.config(family, prof.arch)
        if rng.random() < 0.85:
            prof.card = pools.card_data(prof.license, prof.language, lib, tag, prof.base_id)
        shards = 1 if prof.total < 4e9 else min(64, int(prof.total / 4e9) + 1)
        prof.siblings = pools.sibling_list(lib, has_st, shards, lib == "gguf")
