"""Modalities: every pipeline tag the Hub knows, and `x-to-y` tags nobody knows yet (derived, logged once)."""

from __future__ import annotations

import json
import logging

import pytest

from etl import modalities as mod
from etl.records import to_model
from etl.transform import to_row

# Tags the recorded Hub data and the issue name; huggingface_hub does not ship all of them.
RECORDED = (
    "document-question-answering",
    "table-question-answering",
    "image-text-to-image",
    "image-text-to-video",
    "video-to-video",
    "zero-shot-object-detection",
    "mask-generation",
    "keypoint-detection",
    "video-classification",
    "voice-activity-detection",
    "time-series-forecasting",
    "image-to-3d",
    "text-to-3d",
    "unconditional-image-generation",
    "reinforcement-learning",
    "robotics",
    "graph-ml",
)


def test_huggingface_hub_ships_a_task_list():
    tags = mod.hub_pipeline_tags()
    assert {"text-generation", "conversational", "image-text-to-video", "table-question-answering"} <= tags


@pytest.mark.parametrize("tag", sorted(mod.hub_pipeline_tags() | set(mod.MODALITIES) | set(RECORDED)))
def test_every_known_tag_has_inputs_and_outputs(tag):
    inputs, outputs = mod.modalities(tag)
    assert inputs and outputs
    assert tag in mod.MODALITIES  # known tags come from the table, never from guessing


def test_a_vision_to_video_model_gets_its_modalities():
    item = {"id": "MiniMaxAI/MiniMax-H3", "pipeline_tag": "image-text-to-video"}
    arch = json.loads(to_row(to_model(item)).record)["architecture"]
    assert arch == {
        "modality": "text+image->video",
        "input_modalities": ["text", "image"],
        "output_modalities": ["video"],
        "tokenizer": None,
        "instruct_type": None,
    }


def test_unknown_x_to_y_tag_is_derived_and_logged_once(caplog):
    mod._derived.cache_clear()
    with caplog.at_level(logging.INFO, logger="hfsnap.modalities"):
        assert mod.modalities("speech-to-3d") == (("audio",), ("3d",))
        assert mod.modalities("speech-to-3d") == (("audio",), ("3d",))
        assert mod.modalities("text-image-to-music") == (("text", "image"), ("audio",))
    assert sum("speech-to-3d" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("tag", ["protein-folding", "quantum-to-text", "text-to-", None, ""])
def test_tags_without_readable_parts_get_no_modality(tag):
    assert mod.modalities(tag) == ((), ())
