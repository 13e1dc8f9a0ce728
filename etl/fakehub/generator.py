"""generate_catalog: a deterministic synthetic Hub catalog shaped like the real one (tails, gaps, provider skew)."""

from __future__ import annotations

import gc
import math
import random
import sys
from array import array
from typing import Any

from .catalog import Catalog
from .compact import new_entry, new_item
from .names import make_authors, make_family, model_name
from .pools import OLD_CREATED, OLD_EPOCH, Pools
from .profiles import BASE_FAMILIES, Profile, ProfileFactory
from .vocab import (
    CHAT_PROVIDERS,
    HEALTH_BEHAVIOURS,
    HF_INFERENCE_TASKS,
    INFERENCE_STATES,
    PROVIDER_ORG,
    TASK_PROVIDERS,
)

# Provider shares. Tuned so that at n=5000 hf-inference serves ~2,900 models over 20+ tasks, featherless-ai ~1,300
# (text-generation only) and every other provider well under 1,000: the shape that makes a 1000-item cap bite on
# some provider listings and not on others.
P_FEATHERLESS = 0.75  # of text-generation models
P_HF_CLASSIC = 0.95  # of models whose task hf-inference serves
P_HF_LLM = 0.30  # of text-generation / image-text-to-text models
P_UNSERVED = 0.005  # of otherwise servable models; with task-less repos ~10% overall stay unserved
# Shapes seen in recorded router lists (175 provider entries of 2026-08): 5% priced without a context length, under
# 1% with a context length but no price, 10% with an integer price; the reconstructed list has no status at all.
P_PRICING_ONLY = 0.06
P_CONTEXT_ONLY = 0.01
P_INT_PRICE = 0.10
P_ROUTER_NO_STATUS = 0.04
# Hub item shapes: task-less / library-less items carry an explicit null more often than no key (2026 listings:
# pipeline_tag null in 10% of rows, library_name null in 7%); 30% of models that are not warm carry an older
# `inference` state; mapping entries carry isModelAuthor (85%) and adapterWeightsPath (40%), some `adapter: null`.
P_EXPLICIT_NULL = 0.8
P_PROVIDER_AUTHOR = 0.03  # chat models published by a provider's org: isModelAuthor true (7% of recorded entries)
P_INFERENCE_STATE = 0.3
P_NO_AUTHOR_FLAG = 0.15
P_WEIGHTS_PATH = 0.4
P_ADAPTER_NULL = 0.1
EXTRA_COUNTS = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 3)  # providers beyond the rules above
_QUANT_SUFFIXES = ("AWQ", "Int4", "4bit", "8bit", "FP8", "EXL2")

_LIVE, _STAGING, _ERROR = sys.intern("live"), sys.intern("staging"), sys.intern("error")
_CONV, _SINGLE = sys.intern("conversational"), sys.intern("single-model")
_CTX = (4096, 8192, 32768, 32768, 40960, 65536, 131072, 131072, 131072, 131072, 163840, 262144, 262144, 1048576)
_CHAT_FLAT = tuple(p for p, w in CHAT_PROVIDERS for _ in range(w))  # rnd()-indexable weighted pools
_TASK_FLAT = {task: tuple(p for p, w in pairs for _ in range(w)) for task, pairs in TASK_PROVIDERS.items()}
_SAME_ID = frozenset({"hf-inference", "featherless-ai", "together", "deepinfra", "nscale", "publicai", "ovhcloud"})
_NO_MAPPING: list[dict[str, Any]] = []  # returned by _mapping() for "not served"; never stored in an item
_OWN_PROVIDER = {"zai-org": "zai-org", "CohereLabs": "cohere", "baseten": "baseten"}
_PROVIDER_AUTHORS = tuple(sorted(_OWN_PROVIDER))
_STATES_FLAT = tuple(sys.intern(state) for state, w in INFERENCE_STATES for _ in range(w))
_SHARDS = tuple(sys.intern(f"model-00001-of-{n:05d}.safetensors") for n in (2, 4, 8, 48, 64, 282))


def _gauss(rnd: Any) -> float:
    """Approximately standard normal from three uniforms: cheap, and plenty for a heavy-tail shape."""
    return (rnd() + rnd() + rnd() - 1.5) * 2.0


class _Base:
    """A repo other repos derive from (finetunes, quants, LoRAs)."""

    __slots__ = ("id", "name", "profile")

    def __init__(self, mid: str, name: str, profile: Profile) -> None:
        self.id, self.name, self.profile = mid, name, profile


class _Generator:
    """One generation run: rng, shared pools and profiles; `model(i)` builds item number i.

    Hot paths draw with `rnd()` and index tuples instead of Random.choice (same determinism, half the cost), and
    everything repos share (tags, config, card, files, sizes, dates, router stats) comes from pools: that is what
    keeps a million models to well under a minute and about a kilobyte each.
    """

    def __init__(self, n_models: int, seed: int) -> None:
        self.rng = rng = random.Random(seed)
        self.rnd = rng.random
        self.n = n_models
        self.pools = Pools(rng)
        self.pools.build_dates(min(65536, max(2048, n_models // 4)))
        # Creation dates drawn up front and sorted, so repos are generated oldest first: `_id`s (which embed the
        # creation time, like ObjectIds) then ascend with insertion order and sorting by _id is nearly free.
        last = len(self.pools.date_strings) - 1
        self.created = array(
            "i", sorted(-1 if rng.random() < 0.08 else int(rng.random() * last) for _ in range(n_models))
        )
        self.authors = make_authors(rng, max(20, n_models // 6))
        self.proc = f"{rng.getrandbits(40):010x}"  # the "process" part of ObjectIds, fixed per run
        self.factory = ProfileFactory(rng, self.pools)
        # Stratified task draws: the pool's task mix is exact, so provider shares only vary by per-model noise.
        size = min(8192, max(512, n_models))
        self.profiles = [self.factory.draw((k + rng.random()) / size) for k in range(size)]
        self.bases: dict[str, list[_Base]] = {fam: [] for fam in BASE_FAMILIES}
        self.router_pool = self._router_pool()
        self._sha_block = ""
        # Model families ("Velora-3-8B-Instruct"): a fixed pool, so names recur across orgs like real families do.
        self.llm_families = [make_family(rng) for _ in range(min(4096, max(64, n_models // 50)))]
        self.catalog = Catalog()

    def _router_pool(self) -> dict[tuple[str, bool], list[dict[str, Any]]]:
        """Per (provider, live) a few dozen router entries; pairs share them (immutable by convention)."""
        rng = self.rng
        pool: dict[tuple[str, bool], list[dict[str, Any]]] = {}
        for provider in sorted({p for p, _ in CHAT_PROVIDERS} | {"featherless-ai", "hf-inference"}):  # fixed order
            for live in (True, False):
                entries = []
                for _ in range(48):
                    e: dict[str, Any] = {"provider": provider}
                    if rng.random() >= P_ROUTER_NO_STATUS:
                        e["status"] = _LIVE if live else _ERROR
                    if provider != "featherless-ai" and rng.random() < 0.85:  # some pairs lack context/pricing
                        shape = rng.random()
                        if shape >= P_PRICING_ONLY:
                            e["context_length"] = rng.choice(_CTX)
                        if shape < P_PRICING_ONLY or shape >= P_PRICING_ONLY + P_CONTEXT_ONLY:
                            e["pricing"] = _pricing(rng)
                        e["supports_tools"] = rng.random() < 0.7
                        e["supports_structured_output"] = rng.random() < 0.55
                    if live and provider != "featherless-ai":
                        e["first_token_latency_ms"] = round(rng.uniform(120, 2400), 1)
                        e["throughput"] = rng.uniform(12, 450)
                    e["is_model_author"] = False
                    entries.append(e)
                pool[(provider, live)] = entries
        return pool

    def _sha(self, i: int) -> str:
        """A 40-hex commit sha; hex is produced 4096 shas at a time (one call instead of one per model)."""
        k = i & 4095
        if k == 0 or not self._sha_block:
            self._sha_block = self.rng.randbytes(20 * 4096).hex()
        return self._sha_block[k * 40 : k * 40 + 40]

    # ------------------------------------------------------------------ one model
    def model(self, i: int) -> None:
        rnd, pools, models = self.rnd, self.pools, self.catalog.models
        prof = self.profiles[int(rnd() * len(self.profiles))]
        family = prof.family
        base_pool = self.bases.get(family)
        base = base_pool[int(rnd() * len(base_pool))] if base_pool and rnd() < 0.4 else None

        # Squaring a uniform skews towards low indices: a few prolific orgs, a long tail of one-model users.
        author = self.authors[int(len(self.authors) * rnd() ** 2)]
        if prof.conv and rnd() < P_PROVIDER_AUTHOR:  # a provider's own org publishes (and serves) the model
            author = _PROVIDER_AUTHORS[int(rnd() * len(_PROVIDER_AUTHORS))]
        name = model_name(rnd, family, None if base is None else base.name, self.llm_families)
        if base is not None:
            prof = self.factory.derive(base.profile, base.id, _derived_kind(name))
        mid = author + "/" + name
        k = 2
        while mid in models:  # ids are unique; a collision gets a numeric suffix, like a re-upload would
            mid = f"{author}/{name}-{k}"
            k += 1

        # Dates from the shared sorted pool (see self.created); -1 marks a migrated repo with the fixed 2022 date.
        strings, last = pools.date_strings, len(pools.date_strings) - 1
        ci = self.created[i]
        if ci < 0:
            created, ts, ci = OLD_CREATED, OLD_EPOCH, 0
        else:
            created, ts = strings[ci], pools.date_epochs[ci]
        modified = strings[ci + int((last - ci) * rnd() ** 3)]

        # Counters: heavy tails (log-normal downloads, likes ~ downloads^0.55, mostly-zero trending).
        downloads = 0 if rnd() < 0.22 else int(min(4e8, math.exp(3.2 + 2.7 * _gauss(rnd))))
        likes = int(downloads**0.55 * rnd() * 0.35) if rnd() < 0.8 else int(rnd() * 3)
        t = rnd()
        if t < 0.7:
            trending: int | float = 0
        elif t < 0.76:
            trending = round(rnd() * 3, 1)  # the Hub emits fractional scores like 0.2
        else:
            trending = int(likes**0.5 * rnd() * 2)
        g = rnd()
        private = g < 0.003
        total = prof.total

        item = new_item()  # keys inserted in one fixed order so every item shares the same key table
        item["_id"] = f"{ts:08x}{self.proc}{i & 0xFFFFFF:06x}"
        item["id"] = mid
        item["private"] = private
        item["tags"] = prof.tags
        item["downloads"] = downloads
        item["likes"] = likes
        item["modelId"] = mid
        item["author"] = author
        item["sha"] = self._sha(i)
        item["lastModified"] = modified
        item["gated"] = False if g < 0.93 else ("auto" if g < 0.975 else "manual")
        item["disabled"] = False
        item["siblings"] = prof.siblings
        item["spaces"] = pools.space_lists[0] if t < 0.85 else pools.space_lists[int(t * 1000) % len(pools.space_lists)]
        item["createdAt"] = created
        item["inferenceProviderMapping"] = _NO_MAPPING
        item["usedStorage"] = int((total or rnd() * 1e9) * (1.5 + 3 * rnd()))
        item["downloadsAllTime"] = downloads + int(downloads * rnd() * 25) + int(rnd() * 50)
        item["trendingScore"] = trending
        tag = prof.tag
        if tag is not None:
            item["pipeline_tag"] = tag
        elif rnd() < P_EXPLICIT_NULL:
            item["pipeline_tag"] = None
        if prof.library is not None:
            item["library_name"] = prof.library
        elif rnd() < P_EXPLICIT_NULL:
            item["library_name"] = None
        if prof.mask_token is not None:
            item["mask_token"] = prof.mask_token
        if prof.config is not None:
            item["config"] = prof.config
        if prof.card is not None:
            item["cardData"] = prof.card
        if prof.safetensors is not None:
            item["safetensors"] = prof.safetensors
        mapping = _NO_MAPPING if private or tag is None else self._mapping(mid, name, author, tag, prof.conv)
        item["inferenceProviderMapping"] = mapping if mapping else []
        if mapping:
            for e in mapping:
                if e["status"] is _LIVE:
                    item["inference"] = "warm"
                    break
            if prof.conv:
                self._router(mid, author, mapping)
        if "inference" not in item and rnd() < P_INFERENCE_STATE:
            item["inference"] = _STATES_FLAT[int(rnd() * len(_STATES_FLAT))]
        models[mid] = item

        if base_pool is not None and base is None and len(base_pool) < 400 and rnd() < 0.1:
            base_pool.append(_Base(mid, name, prof))

    def _mapping(self, mid: str, name: str, author: str, tag: str, conv: bool) -> list[dict[str, Any]]:
        rnd = self.rnd
        if rnd() < P_UNSERVED:
            return _NO_MAPPING
        llm = tag == "text-generation" or tag == "image-text-to-text"
        providers: list[str] = []
        if tag == "text-generation" and rnd() < P_FEATHERLESS:
            providers.append("featherless-ai")
        if tag in HF_INFERENCE_TASKS and rnd() < (P_HF_LLM if llm else P_HF_CLASSIC):
            providers.append("hf-inference")
        pool = _CHAT_FLAT if llm else _TASK_FLAT.get(tag)
        if pool:
            want = min(EXTRA_COUNTS[int(rnd() * len(EXTRA_COUNTS))] + (0 if providers else 1), 4 - len(providers))
            for _ in range(8):  # bounded retries: duplicates are skipped, not re-weighted
                if want <= 0:
                    break
                p = pool[int(rnd() * len(pool))]
                if p not in providers:
                    providers.append(p)
                    want -= 1
        own = _OWN_PROVIDER.get(author)
        if own is not None and own not in providers and len(providers) < 4:
            providers.append(own)
        if not providers:
            return _NO_MAPPING
        lower = name.lower()
        lora = name.endswith("-lora")
        out = []
        for p in providers:
            r = rnd()
            if conv:
                task = _CONV
            elif tag == "sentence-similarity" and p != "hf-inference":
                task = "feature-extraction"  # embedding providers map sentence-similarity repos as embedders
            else:
                task = tag
            entry = new_entry(
                p,
                mid if p in _SAME_ID else _provider_id(p, author, lower),
                _LIVE if r < 0.86 else (_STAGING if r < 0.93 else _ERROR),
                task,
                PROVIDER_ORG.get(p, p) == author,
            )
            u = rnd()
            if u < P_NO_AUTHOR_FLAG:
                del entry["isModelAuthor"]
            if lora and (p == "fal-ai" or p == "replicate"):
                entry["adapter"] = "lora"
                entry["adapterWeightsPath"] = "lora.safetensors"
                entry["type"] = _SINGLE
            else:
                if r < 0.15:
                    entry["type"] = _SINGLE
                if u < P_ADAPTER_NULL:
                    entry["adapter"] = None
                if u < P_WEIGHTS_PATH:
                    entry["adapterWeightsPath"] = _SHARDS[int(u * 1000) % len(_SHARDS)]
            out.append(entry)
        return out

    def _router(self, mid: str, author: str, mapping: list[dict[str, Any]]) -> None:
        rnd, pool = self.rnd, self.router_pool
        entries = []
        for e in mapping:
            status = e["status"]
            if e["task"] is not _CONV or status is _STAGING:
                continue  # the router lists chat models only, and only routable (live/error) pairs
            p = e["provider"]
            choices = pool.get((p, status is _LIVE))
            if choices is None:
                continue
            entry = choices[int(rnd() * len(choices))]
            if PROVIDER_ORG.get(p, p) == author:  # a provider serving its own org's model: unshared entry
                entry = {**entry, "is_model_author": True}
            entries.append(entry)
        if entries:
            self.catalog.router[mid] = entries

    def health(self) -> None:
        """A handful of router pairs per non-ok behaviour (a few more at larger scales)."""
        pairs = sorted((mid, e["provider"]) for mid, es in self.catalog.router.items() for e in es)
        per = 3 + self.n // 100_000
        picks = self.rng.sample(pairs, min(len(pairs), per * (len(HEALTH_BEHAVIOURS) - 1)))
        for k, pair in enumerate(picks):
            self.catalog.health[pair] = HEALTH_BEHAVIOURS[1 + k % (len(HEALTH_BEHAVIOURS) - 1)]


def _pricing(rng: random.Random) -> dict[str, int | float]:
    """USD per 1M tokens, $0.01 .. ~$2.5 input; some integer prices, as recorded router lists carry."""
    if rng.random() < P_INT_PRICE:
        inp: int | float = rng.choice((1, 1, 2, 3))
        return {"input": inp, "output": int(inp * rng.choice((1, 2, 2, 3, 4)))}
    inp = round(0.01 * math.exp(rng.uniform(0, 5.5)), 3)
    return {"input": inp, "output": round(inp * rng.choice((1, 1.5, 2, 2, 3, 4)), 3)}


def _derived_kind(name: str) -> str:
    """How a derived repo relates to its base, read off its name like the Hub reads it off the card."""
    if name.endswith("GGUF"):
        return "gguf"
    if name.endswith(_QUANT_SUFFIXES):
        return "quantized"
    if name.endswith("-lora") or "-lora-" in name:
        return "adapter"
    return "finetune"


def _provider_id(provider: str, author: str, lower: str) -> str:
    """Provider-side model id in each provider's naming style (providers in _SAME_ID keep the Hub id)."""
    if provider == "novita":
        return f"{author.lower()}/{lower}"
    if provider == "fireworks-ai":
        return "accounts/fireworks/models/" + lower
    if provider == "fal-ai":
        return "fal-ai/" + lower
    if provider == "replicate":
        return f"{author.lower()}/{lower}"
    if provider == "wavespeed":
        return "wavespeed-ai/" + lower
    return lower


def generate_catalog(n_models: int, seed: int = 0) -> Catalog:
    """Build a catalog of `n_models` synthetic models; identical output for identical (n_models, seed)."""
    if n_models < 0:
        raise ValueError("n_models must be >= 0")
    # The cyclic GC would rescan the growing heap again and again (~30% of the run); generation makes no cycles.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        gen = _Generator(n_models, seed)
        for i in range(n_models):
            gen.model(i)
        gen.health()
        # Move everything to the permanent generation: otherwise the first collection after this (landing on some
        # unlucky request) walks the whole catalog (~0.3 s per 100k models). Refcounting still frees it all.
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
    gen.catalog.touch()
    return gen.catalog
