"""Static vocabulary for the synthetic catalog: tasks, libraries, licences, providers (all invented or generic)."""

from __future__ import annotations

from typing import Final

# Provider ids huggingface_hub 2.4.0 knows (PROVIDER_T minus the client-only "openai").
KNOWN_PROVIDERS: Final = (
    "baseten", "cerebras", "cohere", "deepinfra", "fal-ai", "featherless-ai", "fireworks-ai", "groq",
    "hf-inference", "novita", "nscale", "ovhcloud", "publicai", "replicate", "scaleway", "together",
    "wavespeed", "zai-org",
)
# Ids no client knows: the Hub can return them (retired or brand-new providers); the ETL must keep them verbatim.
UNKNOWN_PROVIDERS: Final = ("sambanova-cloud", "hyperbolic")

# Provider -> Hub org, used for isModelAuthor (the JS PROVIDERS_HUB_ORGS idea; only differing ones listed).
PROVIDER_ORG: Final = {"cohere": "CohereLabs", "deepinfra": "DeepInfra", "fal-ai": "fal",
                       "together": "togethercomputer"}

# Conversational (chat) providers and their relative weight as "extra" providers of a chat model.
CHAT_PROVIDERS: Final = (
    ("together", 16), ("novita", 15), ("fireworks-ai", 12), ("deepinfra", 11), ("groq", 6), ("cerebras", 4),
    ("nscale", 6), ("ovhcloud", 4), ("publicai", 3), ("scaleway", 5), ("baseten", 4), ("cohere", 2),
    ("zai-org", 2), ("sambanova-cloud", 3), ("hyperbolic", 2),
)

# Non-chat providers per task (hf-inference and featherless-ai are assigned by their own rules).
TASK_PROVIDERS: Final = {
    "text-to-image": (("fal-ai", 10), ("replicate", 6), ("wavespeed", 4), ("together", 3), ("nscale", 2),
                      ("zai-org", 1)),
    "image-to-image": (("fal-ai", 6), ("replicate", 4), ("wavespeed", 3), ("together", 1)),
    "text-to-video": (("fal-ai", 6), ("replicate", 3), ("wavespeed", 3), ("novita", 2), ("together", 1)),
    "image-to-video": (("fal-ai", 5), ("wavespeed", 4), ("together", 1)),
    "text-to-speech": (("fal-ai", 4), ("replicate", 3), ("deepinfra", 2), ("together", 1)),
    "automatic-speech-recognition": (("fal-ai", 3), ("deepinfra", 3), ("replicate", 2), ("together", 1)),
    "feature-extraction": (("deepinfra", 3), ("scaleway", 2), ("together", 2)),
    "sentence-similarity": (("deepinfra", 2), ("together", 1)),
    "image-segmentation": (("fal-ai", 1),),
}

# Tasks hf-inference serves (the former serverless Inference API): most classic ones.
HF_INFERENCE_TASKS: Final = frozenset({
    "text-classification", "token-classification", "fill-mask", "feature-extraction", "sentence-similarity",
    "automatic-speech-recognition", "image-classification", "translation", "summarization", "text2text-generation",
    "zero-shot-classification", "object-detection", "image-to-text", "question-answering", "image-segmentation",
    "text-to-image", "audio-classification", "table-question-answering", "zero-shot-image-classification",
    "text-to-speech", "image-to-image", "depth-estimation", "text-generation", "image-text-to-text",
})

# (pipeline_tag or None, weight per mille, library choices). None = the Hub could not infer a task.
PIPELINES: Final = (
    (None, 60, ("transformers", "peft", "gguf", None, None, "pytorch", "keras", "mlx", "nemo")),
    ("text-generation", 350, ("transformers", "transformers", "transformers", "gguf", "mlx", "peft", None)),
    ("image-text-to-text", 40, ("transformers", "transformers", "gguf", "mlx")),
    ("text-to-image", 90, ("diffusers", "diffusers", "diffusers", "gguf")),
    ("image-to-image", 8, ("diffusers",)),
    ("text-to-video", 5, ("diffusers",)),
    ("image-to-video", 3, ("diffusers",)),
    ("feature-extraction", 35, ("transformers", "sentence-transformers", "transformers.js", "onnx")),
    ("sentence-similarity", 40, ("sentence-transformers", "sentence-transformers", "transformers")),
    ("text-classification", 60, ("transformers", "transformers", "setfit", "onnx")),
    ("token-classification", 25, ("transformers", "flair", "spacy")),
    ("fill-mask", 25, ("transformers",)),
    ("automatic-speech-recognition", 40, ("transformers", "transformers", "nemo", "ctranslate2", "speechbrain")),
    ("image-classification", 45, ("transformers", "timm", "timm", "keras")),
    ("translation", 20, ("transformers",)),
    ("summarization", 10, ("transformers",)),
    ("text2text-generation", 15, ("transformers",)),
    ("text-to-speech", 15, ("transformers", "espnet", "coqui")),
    ("zero-shot-classification", 8, ("transformers",)),
    ("object-detection", 10, ("transformers", "ultralytics")),
    ("image-to-text", 8, ("transformers",)),
    ("question-answering", 10, ("transformers",)),
    ("image-segmentation", 10, ("transformers", "transformers")),
    ("audio-classification", 8, ("transformers", "speechbrain")),
    ("depth-estimation", 4, ("transformers",)),
    ("zero-shot-image-classification", 8, ("open_clip", "transformers")),
    ("table-question-answering", 2, ("transformers",)),
    ("reinforcement-learning", 12, ("stable-baselines3", "ml-agents", "sample-factory")),
    ("time-series-forecasting", 4, ("transformers", "chronos")),
    ("image-feature-extraction", 6, ("timm", "transformers")),
    ("video-classification", 3, ("transformers",)),
    ("mask-generation", 2, ("transformers",)),
)

# Invented architecture families per task family: (model_type, config architectures class).
ARCHS: Final = {
    "llm": (("lumen", "LumenForCausalLM"), ("corvid", "CorvidForCausalLM"), ("tessera", "TesseraForCausalLM"),
            ("halcyon", "HalcyonForCausalLM"), ("orrery", "OrreryForCausalLM"),
            ("kestrel_moe", "KestrelMoeForCausalLM"),
            ("basalt", "BasaltForCausalLM")),
    "vlm": (("lumen_vl", "LumenVLForConditionalGeneration"), ("prism", "PrismForConditionalGeneration")),
    "encoder": (("bertish", "BertishModel"), ("robin", "RobinModel"), ("deberta_lite", "DebertaLiteModel"),
                ("e5ish", "E5ishModel")),
    "seq2seq": (("tern", "TernForConditionalGeneration"), ("marlin", "MarlinMTModel")),
    "speech": (("whistle", "WhistleForConditionalGeneration"), ("wavelet2vec", "Wavelet2VecForCTC")),
    "vision": (("vistra", "VistraForImageClassification"), ("detrish", "DetrishForObjectDetection"),
               ("segmora", "SegmoraForSemanticSegmentation")),
    "diffusion": (("StrataDiffusionPipeline", ""), ("FluxionPipeline", ""), ("AuroraXLPipeline", "")),
    "other": (("generic", ""),),
}
TASK_FAMILY: Final = {
    "text-generation": "llm", "image-text-to-text": "vlm", "text-to-image": "diffusion", "image-to-image": "diffusion",
    "text-to-video": "diffusion", "image-to-video": "diffusion", "feature-extraction": "encoder",
    "sentence-similarity": "encoder", "text-classification": "encoder", "token-classification": "encoder",
    "fill-mask": "encoder", "question-answering": "encoder", "zero-shot-classification": "encoder",
    "translation": "seq2seq", "summarization": "seq2seq", "text2text-generation": "seq2seq",
    "automatic-speech-recognition": "speech", "text-to-speech": "speech", "audio-classification": "speech",
    "image-classification": "vision", "object-detection": "vision", "image-segmentation": "vision",
    "depth-estimation": "vision", "zero-shot-image-classification": "vision", "image-to-text": "vlm",
    "image-feature-extraction": "vision", "video-classification": "vision", "mask-generation": "vision",
}

LICENSES: Final = (
    ("apache-2.0", 40), ("mit", 15), ("other", 12), ("cc-by-nc-4.0", 6), ("openrail", 3), ("cc-by-4.0", 4),
    ("cc-by-sa-4.0", 2), ("cc-by-nc-sa-4.0", 2), ("gpl-3.0", 1), ("bsd-3-clause", 1), ("unknown", 1),
    ("lumen-community", 5), ("creativeml-openrail-m", 3), ("openrail++", 1),
)
LANGUAGES: Final = ("en", "en", "en", "multilingual", "zh", "fr", "de", "es", "ja", "ko", "ru", "ar", "hi", "tr", "pt")
DATASETS: Final = ("open-corpus/web-text-v2", "synth-labs/instruct-mix", "commons/speech-hours",
                   "pixelworks/captions-5m", "open-corpus/code-stack", "eval-guild/reviews-sent")
EXTRA_TAGS: Final = ("safetensors", "endpoints_compatible", "autotrain_compatible", "text-generation-inference",
                     "custom_code", "4-bit", "8-bit", "awq", "gptq", "lora", "merge", "mergekit", "trl", "sft", "dpo",
                     "unsloth", "template:sd-lora", "text-embeddings-inference", "compressed-tensors")

# Common parameter counts (billions) for language models; others draw from task-typical ranges.
LLM_SIZES_B: Final = (0.135, 0.36, 0.5, 0.6, 1.1, 1.5, 1.7, 2.0, 3.0, 3.8, 4.0, 7.0, 7.2, 8.0, 9.0, 12.0, 14.0, 22.0,
                      24.0, 27.0, 32.0, 34.0, 70.0, 72.0, 106.0, 123.0, 235.0, 405.0, 480.0, 671.0, 1000.0)
DTYPES: Final = ("BF16", "BF16", "BF16", "F16", "F32", "F32", "I8", "U8")

# Valid `expand` values (huggingface_hub 2.4.0 ExpandModelProperty_T).
EXPAND_KEYS: Final = frozenset({
    "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt", "disabled", "downloads",
    "downloadsAllTime", "evalResults", "gated", "gguf", "inference", "inferenceProviderMapping", "lastModified",
    "library_name", "likes", "mask_token", "model-index", "pipeline_tag", "private", "resourceGroup",
    "safetensors", "sha", "siblings", "spaces", "tags", "transformersInfo", "trendingScore", "usedStorage",
    "widgetData",
})
SORT_KEYS: Final = ("downloads", "likes", "trendingScore", "createdAt", "lastModified")
HEALTH_BEHAVIOURS: Final = ("ok", "auth", "payment", "not_found", "gone", "rate_limited", "server_error", "hang",
                            "network")
