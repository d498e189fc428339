"""The smallest transformer-pipeline model that is still a real one: MiniLM with four of its
six layers frozen, fine-tuned on eight texts of two intents. For the compression tests, which
need a trained transformer bundle to quantize and prune but not a good one.
"""

from __future__ import annotations

from lifelong.config import Pipeline, Training, TransformerSettings
from lifelong.core.types import Example
from lifelong.models import ModelBundle

EXAMPLES = [
    Example.make(text, label)
    for label, texts in {
        "alarm": ["wake me up at 7", "set an alarm", "alarm for six am", "wake me early"],
        "music": ["play a song", "play some jazz", "music please", "put on the radio"],
    }.items()
    for text in texts
]
PIPELINE = Pipeline(
    name="transformer", transformer=TransformerSettings(max_length=16, freeze_layers=4)
)


def tiny_transformer(epochs: int = 3) -> ModelBundle:
    """A transformer bundle trained on :data:`EXAMPLES` (validated on two of them), seeded:
    the same weights every call. Needs the MiniLM package."""
    from lifelong.training import train  # torch and the encoder: only when a test asks

    return train(
        EXAMPLES,
        EXAMPLES[:2],
        pipeline=PIPELINE,
        training=Training(epochs=epochs, batch_size=4, seed=0),
        progress=False,
    ).bundle
