"""Sources of new labeled examples for the continual loop, all with one two-phase contract.

``pending()`` offers examples with receipts; the pipeline commits the snapshot holding them and
only then calls ``commit(receipts)``. A crash in between redelivers (harmless: examples are
content-hashed), never loses.

>>> import tempfile
>>> from pathlib import Path
>>> inbox = Path(tempfile.mkdtemp())
>>> _ = (inbox / "day1.jsonl").write_text('{"text": "hi", "intent": "greet"}\\n')
>>> source = InboxSource(inbox)
>>> batch = source.pending()
>>> [e.label for e in batch.examples]
['greet']
>>> source.commit(batch.receipts)
>>> source.pending().empty, sorted(p.name for p in (inbox / "processed").iterdir())
(True, ['day1.jsonl'])
"""

from lifelong.data.sources.base import Batch, Receipt, Source, SourceUnavailable, closing_all
from lifelong.data.sources.factory import build_source, build_sources, feedback_log
from lifelong.data.sources.feedback import FeedbackRecord, FeedbackSource, append_feedback
from lifelong.data.sources.inbox import InboxSource
from lifelong.data.sources.kafka import KafkaSource
from lifelong.data.sources.nats import NatsSource
from lifelong.data.sources.redis_stream import RedisStreamSource

__all__ = [
    "Batch",
    "FeedbackRecord",
    "FeedbackSource",
    "InboxSource",
    "KafkaSource",
    "NatsSource",
    "Receipt",
    "RedisStreamSource",
    "Source",
    "SourceUnavailable",
    "append_feedback",
    "build_source",
    "build_sources",
    "closing_all",
    "feedback_log",
]
