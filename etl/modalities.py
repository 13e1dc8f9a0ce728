"""pipeline_tag -> (input, output modalities): every tag the Hub knows; `x-to-y` tags nobody knows yet, derived."""

from __future__ import annotations

import functools
import logging
import pkgutil

log = logging.getLogger("hfsnap.modalities")

Modalities = tuple[tuple[str, ...], tuple[str, ...]]
T, I, A, V, E = ("text",), ("image",), ("audio",), ("video",), ("embeddings",)  # noqa: E741 - one-letter columns

# The Hub's pipeline tags (huggingface.js `PIPELINE_DATA`, plus the newer tags huggingface_hub's task types and
# recorded Hub data carry). Classifiers and detectors answer with labels, boxes or scores: text for a gateway.
MODALITIES: dict[str, Modalities] = {
    # natural language
    "text-generation": (T, T),
    "text2text-generation": (T, T),
    "conversational": (T, T),
    "summarization": (T, T),
    "translation": (T, T),
    "question-answering": (T, T),
    "table-question-answering": (("text", "tabular"), T),
    "fill-mask": (T, T),
    "text-classification": (T, T),
    "token-classification": (T, T),
    "zero-shot-classification": (T, T),
    "multiple-choice": (T, T),
    "table-to-text": (("tabular",), T),
    "text-ranking": (T, T),
    "text-retrieval": (T, E),
    "sentence-similarity": (T, E),
    "feature-extraction": (T, E),
    # multimodal
    "image-text-to-text": (("text", "image"), T),
    "image-text-to-image": (("text", "image"), I),
    "image-text-to-video": (("text", "image"), V),
    "visual-question-answering": (("text", "image"), T),
    "document-question-answering": (("text", "image"), T),
    "visual-document-retrieval": (("text", "image"), E),
    "video-text-to-text": (("text", "video"), T),
    "audio-text-to-text": (("text", "audio"), T),
    "any-to-any": (("text", "image", "audio", "video"), ("text", "image", "audio")),
    "biology": (T, T),
    # vision
    "image-to-text": (I, T),
    "image-classification": (I, T),
    "object-detection": (I, T),
    "zero-shot-object-detection": (("image", "text"), T),
    "keypoint-detection": (I, T),
    "image-segmentation": (I, I),
    "mask-generation": (I, I),
    "zero-shot-image-classification": (("image", "text"), T),
    "image-feature-extraction": (I, E),
    "depth-estimation": (I, I),
    "text-to-image": (T, I),
    "image-to-image": (("image", "text"), I),
    "unconditional-image-generation": (T, I),  # no prompt is needed; a gateway still sends (empty) text
    "text-to-video": (T, V),
    "image-to-video": (("image", "text"), V),
    "video-to-video": (("video", "text"), V),
    "video-classification": (V, T),
    "text-to-3d": (T, ("3d",)),
    "image-to-3d": (I, ("3d",)),
    # audio
    "text-to-speech": (T, A),
    "text-to-audio": (T, A),
    "automatic-speech-recognition": (A, T),
    "audio-classification": (A, T),
    "voice-activity-detection": (A, T),
    "audio-to-audio": (A, A),
    # tabular, time series, agents, graphs
    "tabular-classification": (("tabular",), T),
    "tabular-regression": (("tabular",), T),
    "tabular-to-text": (("tabular",), T),
    "time-series-forecasting": (("tabular",), ("tabular",)),
    "reinforcement-learning": (("observation",), ("action",)),
    "robotics": (("observation",), ("action",)),
    "graph-ml": (("graph",), ("graph",)),
    "other": (T, T),
}
# Words of an unknown `x-to-y` tag -> modality ("speech-to-text" is audio in, text out).
_WORDS = {
    "text": "text",
    "image": "image",
    "images": "image",
    "video": "video",
    "audio": "audio",
    "speech": "audio",
    "voice": "audio",
    "music": "audio",
    "3d": "3d",
    "mesh": "3d",
    "tabular": "tabular",
    "table": "tabular",
    "document": "image",
    "embedding": "embeddings",
    "embeddings": "embeddings",
    "graph": "graph",
}


def hub_pipeline_tags() -> frozenset[str]:
    """Tags huggingface_hub ships (its generated task types and the tasks its providers serve); one place."""
    tags: set[str] = set()
    try:
        from huggingface_hub.inference._generated import types
        from huggingface_hub.inference._providers import PROVIDERS

        names = {m.name for m in pkgutil.iter_modules(types.__path__)} - {"base", "chat_completion"}
        tags |= {n.replace("_", "-") for n in names}
        tags |= {task for tasks in PROVIDERS.values() for task in tasks}
    except Exception:  # another huggingface_hub layout: the table below still covers the Hub's tags
        log.debug("huggingface_hub task list not found", exc_info=True)
    return frozenset(tags)


def modalities(tag: str | None) -> Modalities:
    """(inputs, outputs) for a pipeline tag; an unknown `x-to-y` tag is derived from its parts, logged once."""
    if not tag:
        return ((), ())
    found = MODALITIES.get(tag)
    return found if found is not None else _derived(tag)


@functools.cache
def _derived(tag: str) -> Modalities:
    """Cached, so each unknown tag is logged once per process."""
    left, sep, right = tag.partition("-to-")
    inputs = _words(left) if sep else ()
    outputs = _words(right) if sep else ()
    if inputs and outputs:
        log.info("pipeline_tag %r is not in the modality table: derived %s->%s", tag, inputs, outputs)
        return inputs, outputs
    log.warning("pipeline_tag %r is not in the modality table and has no x-to-y parts: no modalities", tag)
    return ((), ())


def _words(part: str) -> tuple[str, ...]:
    out: list[str] = []
    for word in part.split("-"):
        modality = _WORDS.get(word)
        if modality is None:
            return ()  # an unknown word: better no modality than a wrong one
        if modality not in out:
            out.append(modality)
    return tuple(out)
