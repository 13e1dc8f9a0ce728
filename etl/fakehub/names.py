"""Invented, Hub-styled names: org/user handles and per-task model names built from nonsense syllables."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Sequence

# Syllables chosen to look like names without spelling any real org or model.
_SYL = (
    "ka",
    "lo",
    "mi",
    "ra",
    "ven",
    "tor",
    "sel",
    "qui",
    "dra",
    "nex",
    "vo",
    "lum",
    "ori",
    "zen",
    "tal",
    "bri",
    "cor",
    "fen",
    "gal",
    "hal",
    "ith",
    "jun",
    "kel",
    "mor",
    "nav",
    "pel",
    "ros",
    "syl",
    "tem",
    "ulm",
    "vat",
    "wex",
    "yar",
    "zor",
    "ael",
    "bex",
    "cyr",
    "dov",
    "eld",
    "fyr",
    "gor",
    "hux",
    "ixa",
    "jor",
    "kiv",
    "lyn",
)
_ORG_PREFIX = ("open", "deep", "neo", "hyper")
_ORG_TAIL = ("lab", "ai", "research", "hub")
_ORG_SUFFIX = ("AI", "Labs", "Research", "-AI", "-Lab", "Tech", "-NLP", "ML", "", "", "", "")
_WORDS = (
    "nova",
    "lattice",
    "ember",
    "quartz",
    "drift",
    "harbor",
    "cinder",
    "summit",
    "meadow",
    "vector",
    "pulse",
    "atlas",
    "ripple",
    "zenith",
    "tundra",
    "saffron",
    "cobalt",
    "willow",
    "ion",
    "mosaic",
    "prairie",
    "sable",
    "tidal",
    "umbra",
    "velvet",
    "wren",
    "onyx",
    "fable",
    "glint",
    "haze",
)
_VARIANTS = ("Instruct", "Instruct", "Chat", "Base", "it", "Thinking", "Coder", "")
_QUANTS = ("GGUF", "GGUF", "GGUF", "AWQ", "GPTQ-Int4", "4bit", "8bit", "MLX-4bit", "FP8", "i1-GGUF", "EXL2")
_ENC_SIZES = ("small", "base", "base", "large", "mini", "tiny", "xl")
_VISION_SIZES = ("tiny", "small", "base", "large", "huge")
_ENVS = ("LunarHopper", "CartSwing", "MazeRunner", "PixelKart", "RoboReach", "SnowGlider")
_DATA_SLUGS = ("reviews", "news-topics", "ner-wiki", "sentiment", "emotion", "squad-like", "medical-qa", "legal")
_STYLES = ("anime", "photoreal", "pixel", "watercolor", "cinematic", "sketch", "isometric", "retro")
_FT = ("sft", "dpo", "lora", "merge", "v2", "ft")
_VERSIONS = ("1", "2", "2.5", "3", "3.1", "3.5", "4", "0.2")
_LLM_SIZES = ("0.5B", "1.5B", "3B", "7B", "8B", "14B", "32B", "70B", "8x7B", "30B-A3B", "235B-A22B")
_ENC_ARCHS = ("bertish", "robin", "e5ish", "deberta-lite", "gte-ish", "minilm-ish")
_ENC_LANGS = ("en", "multilingual", "zh", "fr", "de")
_ENC_TAILS = ("cased", "uncased", "v2", "v1.5")
_DIFF_TAILS = ("xl", "v1", "v2", "turbo", "lightning", "dev")
_SPEECH = ("whistle", "wavelet2vec", "vocalis")
_SPEECH_TAILS = ("en", "multi", "de", "ja", "ar", "v3")
_VISION = ("vistra", "detrish", "segmora", "convexa")
_PATCH = ("14", "16", "32")
_RES = ("224", "384", "512")
_SEQ2SEQ = ("tern", "marlin")
_SEQ_TAILS = ("en-de", "fr-en", "zh-en", "multi", "summarize", "paraphrase")
_RL_ALGOS = ("ppo", "dqn", "a2c", "sac")


def _syl(rng: random.Random, lo: int, hi: int) -> str:
    return "".join(rng.choice(_SYL) for _ in range(rng.randint(lo, hi)))


def make_authors(rng: random.Random, count: int) -> list[str]:
    """`count` distinct author handles in a mix of org and user styles, interned (each is shared by many ids)."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        style = rng.random()
        if style < 0.25:  # CamelCase org, e.g. "KalorVen" / "ZenithAI"
            name = _syl(rng, 1, 2).capitalize() + _syl(rng, 1, 2).capitalize() + rng.choice(_ORG_SUFFIX)
        elif style < 0.40:  # dashed lowercase org, e.g. "open-lumora-lab"
            name = f"{rng.choice(_ORG_PREFIX)}-{_syl(rng, 2, 3)}-{rng.choice(_ORG_TAIL)}"
        elif style < 0.50:  # acronym org, e.g. "KMR-NLP"
            letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.randint(2, 4)))
            name = letters + rng.choice(("-NLP", "-AI", "-CV", "Lab", ""))
        else:  # user handle, e.g. "kaelin92", "mira_dev", "TorVen"
            base = _syl(rng, 2, 3)
            roll = rng.random()
            if roll < 0.35:
                name = base + str(rng.randint(1, 999))
            elif roll < 0.5:
                name = base + rng.choice(("_dev", "-ml", "_ai", "x", "-hf"))
            elif roll < 0.7:
                name = base.capitalize() + _syl(rng, 1, 2).capitalize()
            else:
                name = base
        if name not in seen:
            seen.add(name)
            out.append(sys.intern(name))
    return out


def _pick(rnd: Callable[[], float], seq: Sequence[str]) -> str:
    # Indexing by rnd() is ~2x cheaper than Random.choice, which matters at a million names.
    return seq[int(rnd() * len(seq))]


def make_family(rng: random.Random) -> str:
    """A model family name such as "Velora" or "Nexquil"."""
    return _syl(rng, 2, 3).capitalize()


def model_name(rnd: Callable[[], float], family: str, base: str | None, llm_families: Sequence[str]) -> str:
    """A repo name for one model of `family` ("llm", "encoder", ...); `base` is the base repo name, if any."""
    r = rnd()
    if family in ("llm", "vlm"):
        if base is not None and r < 0.45:  # quantized / finetuned derivative of a base
            if r < 0.25:
                return f"{base}-{_pick(rnd, _QUANTS)}"
            return f"{base}-{_pick(rnd, _WORDS)}-{_pick(rnd, _FT)}"
        name = f"{_pick(rnd, llm_families)}-{_pick(rnd, _VERSIONS)}-{_pick(rnd, _LLM_SIZES)}"
        tail = _pick(rnd, _VARIANTS)
        if tail:
            name = f"{name}-{tail}"
        return name + "-Vision" if family == "vlm" and r < 0.8 else name
    if family == "encoder":
        arch = _pick(rnd, _ENC_ARCHS)
        if r < 0.5:
            return f"{arch}-{_pick(rnd, _ENC_SIZES)}-{_pick(rnd, _ENC_LANGS)}-{_pick(rnd, _ENC_TAILS)}"
        return f"{arch}-{_pick(rnd, _ENC_SIZES)}-finetuned-{_pick(rnd, _DATA_SLUGS)}"
    if family == "diffusion":
        if base is not None and r < 0.5:
            return f"{base}-{_pick(rnd, _STYLES)}-lora"
        return f"{_pick(rnd, _WORDS)}-{_pick(rnd, _STYLES)}-{_pick(rnd, _DIFF_TAILS)}"
    if family == "speech":
        return f"{_pick(rnd, _SPEECH)}-{_pick(rnd, _VISION_SIZES)}-{_pick(rnd, _SPEECH_TAILS)}"
    if family == "vision":
        return f"{_pick(rnd, _VISION)}-{_pick(rnd, _VISION_SIZES)}-patch{_pick(rnd, _PATCH)}-{_pick(rnd, _RES)}"
    if family == "seq2seq":
        return f"{_pick(rnd, _SEQ2SEQ)}-{_pick(rnd, _ENC_SIZES)}-{_pick(rnd, _SEQ_TAILS)}"
    if family == "rl":
        return f"{_pick(rnd, _RL_ALGOS)}-{_pick(rnd, _ENVS)}-v{int(rnd() * 4)}"
    if r < 0.3:
        return f"checkpoint-{(1 + int(rnd() * 400)) * 50}"
    name = f"{_pick(rnd, _WORDS)}-{_pick(rnd, _WORDS)}"
    return f"{name}-{1 + int(rnd() * 99)}" if r < 0.6 else name
