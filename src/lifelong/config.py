"""pydantic models of ``config.yml``.

Unknown keys are errors (``extra="forbid"``) and every message names the key path, so a typo
never silently falls back to a default. :func:`apply_overrides` applies the CLI's dotted
``key=value`` overrides before validation. The README documents every key.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    model_validator,
)

from lifelong.core.errors import ConfigError

CONFIG_FILE = "config.yml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Columns(_Section):
    """Column names read from CSV and Parquet files.

    A text project reads ``text`` and ``intent``. A tabular one (``task: tabular``) predicts
    ``target`` from ``features`` (default: every other column but ``timestamp``); ``kind``
    says whether the target is a class or a number, and ``types`` declares a column numeric
    or categorical where the values should not decide.
    """

    text: str = "text"
    intent: str = "intent"
    timestamp: str = "timestamp"
    target: str | None = None
    features: list[str] | None = None
    types: dict[str, Literal["numeric", "categorical"]] = {}
    kind: Literal["classification", "regression"] = "classification"


class Splits(_Section):
    """Fractions of the stable hash split; ``salt`` makes the split project-specific."""

    valid: float = Field(0.1, ge=0.0, lt=1.0)
    test: float = Field(0.1, ge=0.0, lt=1.0)
    salt: str = "lifelong"

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> Splits:
        if self.valid + self.test >= 1.0:
            raise ValueError("splits.valid + splits.test must be below 1 to leave training data")
        return self


class NGrams(_Section):
    """Hashed n-gram features of the ``fast`` pipeline.

    ``storage``: ``compact`` saves only the table rows training touched, in fp16 (unseen
    buckets read as zero); ``full`` every row in fp32, as before (the 134 MB table).
    """

    word: tuple[int, int] = (1, 2)
    char: tuple[int, int] = (2, 5)
    buckets: int = Field(262_144, ge=1024)
    dim: int = Field(128, ge=8)
    storage: Literal["compact", "full"] = "compact"


class TransformerSettings(_Section):
    """End-to-end fine-tuned encoder of the ``transformer`` pipeline."""

    max_length: int = Field(64, ge=8)
    lr: float = Field(5e-5, gt=0)
    freeze_layers: int = Field(0, ge=0)


class TabularSettings(_Section):
    """The ``tabular`` pipeline: width of the input table (numeric columns, their missing
    flags and the hashed categories share it) and of the learned projection."""

    buckets: int = Field(4096, ge=64)
    dim: int = Field(64, ge=4)
    kind: Literal["classification", "regression"] = "classification"
    """Set from ``columns.kind``: recorded with the model, so whoever loads it knows whether
    it outputs classes or a number."""


EmbeddingsRuntime = Literal["torch", "torch-int8", "onnx", "onnx-int8"]
"""How MiniLM runs (``lifelong.features.encoders``): PyTorch or ONNX Runtime, fp32 or int8."""


class Pipeline(_Section):
    """What turns text into predictions. Changing it means a cold training."""

    name: Literal["fast", "transformer", "tabular"] = "fast"
    ngrams: NGrams = NGrams()
    embeddings: Literal["minilm"] | None = None
    embeddings_runtime: EmbeddingsRuntime = "torch"
    embeddings_layers: list[int] = [6]
    """MiniLM layers (1-6, sorted) whose mean-pooled, unit-norm vectors are concatenated into
    the sentence vector; ``[6]`` is the model's own sentence vector (``bench/encoder_layers.py
    --fast`` measured the others)."""
    hidden: int = Field(512, ge=8)
    dropout: float = Field(0.3, ge=0.0, lt=1.0)
    label_smoothing: float = Field(0.1, ge=0.0, lt=1.0)
    transformer: TransformerSettings = TransformerSettings()
    tabular: TabularSettings = TabularSettings()

    @model_validator(mode="after")
    def _embeddings_settings(self) -> Pipeline:
        if self.embeddings_runtime != "torch" and self.embeddings is None:
            raise ValueError(
                "pipeline.embeddings_runtime only applies to pipeline.embeddings: minilm; "
                "set embeddings: minilm or drop embeddings_runtime"
            )
        layers = self.embeddings_layers
        if not layers or layers != sorted(set(layers)) or not set(layers) <= set(range(1, 7)):
            raise ValueError(
                f"pipeline.embeddings_layers {layers} must be distinct MiniLM layers 1-6 in "
                "increasing order, e.g. [6] or [4, 5, 6]"
            )
        if layers != [6] and self.embeddings is None:
            raise ValueError(
                "pipeline.embeddings_layers only applies to pipeline.embeddings: minilm; "
                "set embeddings: minilm or drop embeddings_layers"
            )
        return self


class Training(_Section):
    """Optimisation of a cold training (and the defaults of an update)."""

    epochs: int = Field(10, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(0.002, gt=0)
    sparse_lr: float = Field(0.05, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup: float = Field(0.05, ge=0.0, lt=1.0)
    seed: int = 0
    patience: int = Field(2, ge=0)
    keep: Literal["best", "last", "average"] = "best"
    """Which weights a training keeps: ``best``, the best epoch on the valid split, stopping
    ``patience`` epochs after it (early stopping); ``last``, the whole schedule's final weights
    (the valid split then only reports, calibrates and sets the OOS threshold); ``average``, the
    whole schedule trained as ``last`` does, keeping the mean of the weights at the end of each
    epoch of its second half (``epochs // 2 + 1`` on; stochastic weight averaging over the
    decaying schedule; ``bench/heads.py`` measured it). ``lifelong init`` writes ``last`` with
    MiniLM, where it measured better than ``best`` (``bench/pipelines.py``)."""
    stream: bool | Literal["auto"] = "auto"
    """Train on data read in chunks, in bounded memory (:mod:`lifelong.training.stream`):
    ``auto`` when the ``data:`` files (JSONL, CSV, Parquet; a text project's Rasa files keep it
    in memory) hold more than ``stream_above_mb``, for text and tabular projects alike."""
    stream_above_mb: float = Field(512.0, gt=0)
    stream_buffer: int = Field(50_000, ge=1)
    """Examples in a streamed training's shuffle buffer (an example moves at most this far)."""
    calibrate_confidence: bool = True
    """Fit a temperature on the valid split after training, so a classifier's confidences
    are calibrated (:mod:`lifelong.training.calibrate`); predictions do not change."""
    checkpoint_every: int = Field(0, ge=0)
    """Steps between checkpoints of a training (0: none); ``lifelong train --resume`` and the
    loop resume a killed run from its latest one (:mod:`lifelong.training.checkpoint`)."""


class Distill(_Section):
    """Learning-without-forgetting: the parent's softened predictions as a second target."""

    weight: float = Field(0.0, ge=0.0)
    temperature: float = Field(2.0, gt=0.0)


class Ewc(_Section):
    """Elastic weight consolidation: a Fisher-weighted pull of the weights to the parent's."""

    weight: float = Field(0.0, ge=0.0)
    samples: int = Field(512, ge=1)


class NewIntents(_Section):
    """What an update does for the intents it adds (the parent's head has no row for them).

    ``oversample``: repeat a new intent's training examples so that, within the update's few
    epochs, it is seen as often as a cold training's ``training.epochs`` would show it.
    ``imprint``: start a new intent's output row from the mean of its examples' head inputs
    (weight imprinting, Qi et al. 2018) instead of small random values. ``epoch_fraction``:
    when set, the epoch fraction of an update that adds intents.
    """

    oversample: bool = True
    imprint: bool = True
    epoch_fraction: float | None = Field(None, gt=0.0, le=1.0)


class Finetune(_Section):
    """How an update starts from its parent, which data it sees, what holds it near the parent."""

    init: Literal["warm", "shrink_perturb", "cold"] = "warm"
    shrink: float = Field(0.6, ge=0.0, le=1.0)
    perturb: float = Field(0.01, ge=0.0)
    noise: Literal["fresh", "gaussian"] = "fresh"
    exclude: list[Literal["embeddings", "norms"]] = []
    epoch_fraction: float = Field(0.2, gt=0.0, le=1.0)
    epochs: int | None = Field(None, ge=1)
    lr_scale: float = Field(1.0, gt=0.0, le=1.0)
    data: Literal["all", "new+replay"] = "all"
    replay_size: int = Field(2000, ge=0)
    distill: Distill = Distill()
    ewc: Ewc = Ewc()
    new_intents: NewIntents = NewIntents()


class PerIntentGuard(_Section):
    """No intent with ``min_support`` old or trusted test examples may lose more than
    ``max_recall_drop`` of recall, counting only losses of at least ``min_lost`` examples that
    are significant at ``alpha`` after a Holm-Tarone correction over the intents checked
    (``null``: no test)."""

    min_support: int = Field(3, ge=1)
    max_recall_drop: float = Field(0.10, ge=0.0, le=1.0)
    min_lost: int = Field(3, ge=1)
    alpha: float | None = Field(0.05, gt=0.0, lt=1.0)


class BackwardGuard(_Section):
    """What an update may break on the old and trusted examples: at most ``max_flip_rate`` of
    the champion's right answers (beyond chance at the gate's ``alpha``), counting only breaks
    of at least ``min_flips`` examples."""

    max_flip_rate: float = Field(0.10, ge=0.0, lt=1.0)
    min_flips: int = Field(3, ge=1)


class RegressionGate(_Section):
    """What a regression challenger may lose (see ``lifelong.evaluation.regression``).

    ``max_mae_increase`` and ``max_rmse_increase`` are relative to the champion's (0.05: 5%
    higher); a significantly higher MAE beyond its allowance rejects, and so does any RMSE rise
    beyond its own (``null``: unchecked), since a few large errors move RMSE long before a rank
    test notices them. ``min_r2`` is a first model's floor: 0.0 asks it to beat predicting the
    test targets' mean. The default MAE allowance is 5%, not 0: two models trained alike on
    draws of one distribution differ by a few percent in MAE, which a rank test on a thousand
    test rows calls significant (``bench/gate_regression.py``: a quarter of such honest
    challengers rejected with 0, one in twenty with 5%, poisoned ones caught as often).
    """

    max_mae_increase: float = Field(0.05, ge=0.0)
    max_rmse_increase: float | None = Field(0.10, ge=0.0)
    min_r2: float = Field(0.0, le=1.0)


class Gate(_Section):
    """Champion-versus-challenger rules (see ``lifelong.evaluation.gate``); a regression model
    is judged by ``regression`` (with ``alpha``, ``tie``, ``backward`` slices and the latency
    budget) instead of the accuracy rules ``max_drop``, ``min_gain``, ``floor``, ``per_intent``."""

    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    max_drop: float = Field(0.0, ge=0.0, le=1.0)
    min_gain: float = Field(0.0, ge=0.0, le=1.0)
    floor: float = Field(0.5, ge=0.0, le=1.0)
    tie: Literal["promote", "keep"] = "promote"
    per_intent: PerIntentGuard = PerIntentGuard()
    backward: BackwardGuard = BackwardGuard()
    max_latency_ms: float | None = Field(None, gt=0)
    regression: RegressionGate = RegressionGate()


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(value: object) -> object:
    """Turn ``"30m"``, ``"24h"``, ``"7d"`` (units s, m, h, d, w) into a :class:`timedelta`.

    ISO 8601 strings (``"PT24H"``, the form a dumped config takes) and numbers of seconds are
    passed on for pydantic to parse, so a resolved config reads back unchanged.

    >>> parse_duration("36h")
    datetime.timedelta(days=1, seconds=43200)
    """
    if not isinstance(value, str) or value.lstrip().startswith(("P", "-P")):
        return value
    match = _DURATION.match(value)
    if match is None:
        raise ValueError("expected a duration such as 30m, 24h or 7d (units s, m, h, d, w)")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class TimeTrigger(_Section):
    """Train when this much time has passed since the last training."""

    every: Duration = timedelta(hours=24)

    @model_validator(mode="after")
    def _positive(self) -> TimeTrigger:
        if self.every <= timedelta(0):
            raise ValueError("every must be a positive duration such as 30m, 24h or 7d")
        return self


class VolumeTrigger(_Section):
    """Train when the new labeled examples reach a fraction of the training set or a count."""

    min_fraction: float | None = Field(0.05, gt=0.0)
    min_count: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _one_threshold(self) -> VolumeTrigger:
        if self.min_fraction is None and self.min_count is None:
            raise ValueError("set min_fraction or min_count (or disable the trigger with null)")
        return self


class PerformanceTrigger(_Section):
    """Train when accuracy on recent feedback falls below a floor, or ADWIN sees it fall; a
    regression model: when its MAE on recent feedback exceeds ``max_mae_ratio`` times its test
    MAE (why 1.25: :class:`lifelong.monitoring.PerformanceTrigger`)."""

    floor: float = Field(0.8, ge=0.0, le=1.0)
    min_feedback: int = Field(30, ge=1)
    window: int = Field(200, ge=1)
    delta: float | None = Field(0.002, gt=0.0, lt=1.0)
    max_mae_ratio: float = Field(1.25, gt=0.0)


class DriftTrigger(_Section):
    """Train when recent predictions drift from the champion's reference window.

    ``psi`` is a PSI threshold on confidences, ``ks_alpha`` / ``chi2_alpha`` significance levels of
    the KS test on confidences and the chi-square test on predicted intents; null skips a test.
    """

    psi: float | None = Field(0.2, gt=0.0)
    ks_alpha: float | None = Field(0.01, gt=0.0, lt=1.0)
    chi2_alpha: float | None = Field(0.01, gt=0.0, lt=1.0)
    min_samples: int = Field(200, ge=2)
    bins: int = Field(10, ge=2)


class Triggers(_Section):
    """When a cycle trains. A null section is disabled; ``mode`` combines the enabled ones."""

    mode: Literal["any", "all"] = "any"
    time: TimeTrigger | None = TimeTrigger()
    volume: VolumeTrigger | None = VolumeTrigger()
    performance: PerformanceTrigger | None = PerformanceTrigger()
    drift: DriftTrigger | None = DriftTrigger()


class Screen(_Section):
    """The intake screen (``lifelong.evaluation.screen``): the new examples of a known intent,
    when at least ``min_examples``, are held for review when the champion gives their label
    less than ``max_support`` of the probability it gives its own test examples of it; a
    single example is held when its label gets at most ``max_label_ratio`` of the probability
    of the champion's answer (``null``: no single-example check)."""

    min_examples: int = Field(5, ge=1)
    max_support: float = Field(0.3, gt=0.0, le=1.0)
    max_label_ratio: float | None = Field(0.05, gt=0.0, lt=1.0)


class Policy(_Section):
    """When the loop trains, how (fine-tune or cold), and what ships.

    ``calibrate_every``: every Kth update is a cold training (0: never); ``calibrate_days``:
    cold when the champion's line started more than N days ago; ``max_rejected_finetunes``:
    cold after that many rejected fine-tunes in a row; ``compete``: train a fine-tune and a cold
    model as competing challengers and let the gate choose.
    """

    gate: Gate = Gate()
    screen: Screen | None = Screen()
    triggers: Triggers = Triggers()
    calibrate_every: int = Field(10, ge=0)
    calibrate_days: float | None = Field(None, gt=0)
    max_rejected_finetunes: int = Field(2, ge=1)
    compete: bool = False


class Store(_Section):
    """Where the registry lives. ``LIFELONG_STORE_URL`` overrides ``url``."""

    url: str = "sqlite:///.lifelong/registry.db"
    artifacts: str = ".lifelong/artifacts"


class RedisSource(_Section):
    """A Redis Stream read through a consumer group (see ``lifelong.data.sources``)."""

    url: str = "redis://127.0.0.1:6379/0"
    stream: str = "lifelong:examples"
    group: str = "lifelong"
    consumer: str = "lifelong"
    count: int = Field(1000, ge=1)


# librdkafka keys that hold secrets: never in config.yml (committed to git), only through
# ``secrets_env`` (the key's value read from an environment variable when the source is built).
KAFKA_SECRET_KEYS = frozenset(
    {
        "sasl.password",
        "sasl.oauthbearer.client.secret",
        "ssl.key.password",
        "ssl.key.pem",
        "ssl.keystore.password",
    }
)
# keys the source sets itself: passing them through would break its guarantees
KAFKA_OWN_KEYS = frozenset(
    {"bootstrap.servers", "group.id", "enable.auto.commit", "enable.auto.offset.store"}
)
KafkaValue = StrictStr | StrictBool | int | float


class KafkaSource(_Section):
    """Kafka topics read through a consumer group (see ``lifelong.data.sources.kafka``).

    ``config`` passes librdkafka keys through (``security.protocol``, ``sasl.mechanism``,
    ``sasl.username``, ``ssl.ca.location``, ``session.timeout.ms``...); ``secrets_env`` maps a
    secret key to the environment variable holding its value.
    """

    bootstrap: str = "127.0.0.1:9092"
    topics: list[StrictStr] = Field(default_factory=lambda: ["lifelong-examples"], min_length=1)
    group: str = "lifelong"
    dead_letter: str | None = None
    config: dict[str, KafkaValue] = Field(default_factory=dict)
    secrets_env: dict[str, StrictStr] = Field(default_factory=dict)
    fields: Columns = Columns()
    count: int = Field(1000, ge=1)
    max_bytes: int = Field(1_048_576, ge=64)
    timeout: float = Field(10.0, gt=0.0)
    assign_timeout: float = Field(60.0, gt=0.0)

    @model_validator(mode="after")
    def _no_secrets_or_own_keys(self) -> KafkaSource:
        secret = sorted(KAFKA_SECRET_KEYS & set(self.config))
        if secret:
            raise ValueError(
                f"config: {secret[0]} is a secret and must not be in config.yml; name the "
                f"environment variable holding it: secrets_env: {{{secret[0]}: KAFKA_SECRET}}"
            )
        own = sorted(KAFKA_OWN_KEYS & set(self.config))
        if own:
            raise ValueError(
                f"config: {own[0]} is set by lifelong (use `bootstrap` and `group`; offsets are "
                "committed only after the snapshot, never automatically)"
            )
        return self


class NatsSource(_Section):
    """A NATS JetStream stream read by a durable pull consumer (``lifelong.data.sources.nats``).

    ``ack_wait`` is the server's redelivery delay of an unacknowledged message; a running cycle
    keeps its messages with in-progress acks, so a killed cycle's come back after ``ack_wait``.
    Credentials come from the environment: ``token_env``, or ``user`` and ``password_env``, or a
    ``creds`` file.
    """

    url: str = "nats://127.0.0.1:4222"
    stream: str = "LIFELONG"
    subject: str = "lifelong.examples"
    durable: str = "lifelong"
    dead_letter: str | None = None
    ack_wait: float = Field(30.0, ge=1.0)
    fields: Columns = Columns()
    count: int = Field(1000, ge=1, le=100_000)  # the largest batch measured (bench/ingest.py)
    max_bytes: int = Field(1_048_576, ge=64)
    timeout: float = Field(10.0, gt=0.0)
    user: str | None = None
    password_env: str | None = None
    token_env: str | None = None
    creds: str | None = None


SOURCE_KINDS = ("inbox", "feedback", "redis", "kafka", "nats")


class SourceSpec(_Section):
    """One source of new examples: exactly one of ``inbox``, ``feedback``, ``redis``,
    ``kafka``, ``nats``.

    ``inbox: true`` is the folder of the top-level ``inbox`` key, ``inbox: DIR`` another folder;
    ``feedback: true`` is ``.lifelong/feedback/feedback.jsonl``, ``feedback: FILE`` another file.
    One flat model (rather than a union) keeps error paths short: ``sources.0.inbx: unknown key``.
    """

    inbox: StrictBool | StrictStr | None = None
    feedback: StrictBool | StrictStr | None = None
    redis: RedisSource | None = None
    kafka: KafkaSource | None = None
    nats: NatsSource | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceSpec:
        given = [name for name in SOURCE_KINDS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "a source is exactly one of {inbox: true|DIR}, {feedback: true|FILE}, "
                "{redis: {url, stream, group}}, {kafka: {bootstrap, topics, group}}, "
                f"{{nats: {{url, stream, subject, durable}}}}; got {given or 'none'}"
            )
        if self.inbox is False or self.feedback is False:
            raise ValueError("false is not a source: remove the entry to disable it")
        return self


class Server(_Section):
    """``lifelong serve``: address, admin auth, hot swap, input limits, prediction log, shadow.

    The admin token itself never sits in ``config.yml``: ``admin_token_env`` names the
    environment variable holding it, and without it the admin endpoints are off. Feedback writes
    training data, so it has its own token (``feedback_token_env``: annotation tools get it,
    never the admin's) and a per-client rate (``feedback_rate`` a minute, ``feedback_burst`` at
    once); without the token ``/feedback`` refuses every correction.
    """

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    admin_token_env: str = "LIFELONG_ADMIN_TOKEN"
    feedback_token_env: str = "LIFELONG_FEEDBACK_TOKEN"
    feedback_rate: float = Field(60.0, gt=0.0)
    feedback_burst: int = Field(20, ge=1)
    poll_interval: float = Field(5.0, ge=0.0)
    max_batch: int = Field(256, ge=1)
    max_text_chars: int = Field(2000, ge=1)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    timeout: float = Field(10.0, gt=0.0)
    threads: int = Field(1, ge=1)
    scoring_threads: int = Field(2, ge=1)
    top_k: int = Field(5, ge=1)
    log_text: bool = False
    log_flush_ms: int = Field(200, ge=1)
    log_flush_rows: int = Field(1000, ge=1)
    log_process: bool = True
    keep_rows: int | None = Field(1_000_000, ge=1)
    keep_days: float | None = Field(None, gt=0.0)
    shadow: str | None = None


class Quantize(_Section):
    """``lifelong compress --method int8 | int4 | fp16``: no options yet (the scale is per row)."""


class Prune(_Section):
    """``lifelong compress --method prune``: of the rows the training texts touch, keep the
    ``keep`` fraction with the largest L2 norm (1.0: every touched row). A transformer version
    instead loses the ``heads`` fraction of each layer's attention heads and the ``ffn``
    fraction of its FFN neurons (least important on ``importance_texts`` training examples),
    then recovers for ``recovery`` epochs (a fraction is fine) on the training texts. The
    transformer defaults are measured (bench/compress.py --transformer, 2026-12-07): a quarter
    of heads and neurons is the largest cut measured that stayed within 1 pt of the parent on
    the valid split of CLINC150 and BANKING77 (half the FFN neurons lost 2.2-2.3 pts there)."""

    keep: float = Field(1.0, gt=0.0, le=1.0)
    heads: float = Field(0.25, ge=0.0, lt=1.0)
    ffn: float = Field(0.25, ge=0.0, lt=1.0)
    recovery: float = Field(0.25, ge=0.0, le=10.0)
    importance_texts: int = Field(256, ge=1)


class PruneNeurons(_Section):
    """``lifelong compress --method prune-neurons``: keep the ``neurons`` fraction of hidden
    units scored most important on the training texts by ``criterion``, then retrain the
    head for ``recover_epochs`` (0: no recovery). The defaults are measured
    (bench/compress.py --neurons): ``taylor`` lost less than ``activation`` before recovery,
    and 3 epochs brought 0.5 and 0.25 of the units back within 0.4 pt of the parent."""

    neurons: float = Field(0.5, gt=0.0, le=1.0)
    criterion: Literal["activation", "taylor"] = "taylor"
    recover_epochs: int = Field(3, ge=0, le=100)


class DistillStudent(_Section):
    """``lifelong compress TEACHER --method distill``: a fast n-gram student of a MiniLM or
    transformer teacher, trained on the teacher's training texts (and, with ``log_texts``, up
    to ``max_log_texts`` unlabeled texts the prediction log kept under ``server.log_text``)
    toward ``weight * T^2 * KL`` of the teacher's outputs softened by ``temperature``, beside
    the labels' cross-entropy; ``epochs`` over the package's default training (null: its own)."""

    temperature: float = Field(2.0, gt=0.0)
    weight: float = Field(1.0, ge=0.0)
    epochs: int | None = Field(None, ge=1)
    log_texts: StrictBool = True
    max_log_texts: int = Field(50_000, ge=0)


class Compress(_Section):
    """``lifelong compress``: each method's defaults (``--option KEY=VALUE`` overrides them)
    and how many test texts are timed one at a time for the latency figures."""

    int8: Quantize = Quantize()
    int4: Quantize = Quantize()
    fp16: Quantize = Quantize()
    prune: Prune = Prune()
    prune_neurons: PruneNeurons = PruneNeurons()
    distill: DistillStudent = DistillStudent()
    latency_texts: int = Field(200, ge=1)


class Config(_Section):
    """The whole of ``config.yml``."""

    task: Literal["text", "tabular"] = "text"
    data: list[str] = ["data"]
    test: list[str] = []
    trusted: list[str] = []
    inbox: str = "inbox"
    columns: Columns = Columns()
    splits: Splits = Splits()
    retain_data: bool = True
    allow_conflicts: bool = False
    oos_label: str | None = None
    pipeline: Pipeline = Pipeline()
    training: Training = Training()
    finetune: Finetune = Finetune()
    policy: Policy = Policy()
    store: Store = Store()
    sources: list[SourceSpec] = [SourceSpec(inbox=True), SourceSpec(feedback=True)]
    server: Server = Server()
    compress: Compress = Compress()

    @model_validator(mode="before")
    @classmethod
    def _tabular_pipeline(cls, raw: Any) -> Any:
        """``task: tabular`` takes the tabular pipeline unless one is named, and allows
        conflicts unless told otherwise: rows with equal features and different targets are
        the noise of a table, where in text they are a labeling mistake."""
        if isinstance(raw, dict) and raw.get("task") == "tabular":
            pipeline = raw.get("pipeline")
            pipeline = dict(pipeline) if isinstance(pipeline, dict) else pipeline
            if pipeline is None or (isinstance(pipeline, dict) and "name" not in pipeline):
                pipeline = {**(pipeline or {}), "name": "tabular"}
            columns = raw.get("columns")
            kind = columns.get("kind") if isinstance(columns, dict) else None
            if isinstance(pipeline, dict) and kind is not None:
                table = pipeline.get("tabular")
                if table is None or isinstance(table, dict):
                    pipeline["tabular"] = {**(table or {}), "kind": kind}
            raw = {"allow_conflicts": True, **raw, "pipeline": pipeline}
        return raw

    @model_validator(mode="after")
    def _task_fits(self) -> Config:
        tabular = self.task == "tabular"
        if tabular and self.columns.target is None:
            raise ValueError("task: tabular needs columns.target (the column to predict)")
        if not tabular and self.columns.target is not None:
            raise ValueError("columns.target is for task: tabular (set task: tabular)")
        if tabular and self.pipeline.tabular.kind != self.columns.kind:
            raise ValueError("pipeline.tabular.kind is set from columns.kind: set that one only")
        if tabular != (self.pipeline.name == "tabular"):
            raise ValueError(
                f"pipeline.name: {self.pipeline.name} does not fit task: {self.task} "
                "(task: tabular takes pipeline.name: tabular, text the others)"
            )
        return self


def _format_validation_error(
    error: ValidationError, where: str, overrides: Sequence[str] = ()
) -> str:
    """Each problem on its key path; a problem a ``--set`` override made names that option."""
    by_key = {tuple(item.partition("=")[0].strip().split(".")): item for item in overrides}
    lines, from_file = [], False
    for item in error.errors():
        loc = tuple(str(part) for part in item["loc"])
        path = ".".join(loc) or "(top level)"
        problem = (
            "unknown key"
            if item["type"] == "extra_forbidden"
            else f"{item['msg']} (got {item.get('input')!r})"
        )
        # a key the override set, or a section it changed (a check across the section's keys)
        origin = next((o for k, o in by_key.items() if _nested(loc, k) or _nested(k, loc)), None)
        from_file = from_file or origin is None
        lines.append(f"  {path}: {problem}" + (f" (from --set {origin})" if origin else ""))
    head = f"{where} is not a valid lifelong config" if from_file else "a --set option is not valid"
    return f"{head}:\n" + "\n".join(lines)


def _nested(inner: tuple[str, ...], outer: tuple[str, ...]) -> bool:
    return bool(outer) and inner[: len(outer)] == outer


def parse_config(
    raw: dict[str, Any], where: str = "config", overrides: Sequence[str] = ()
) -> Config:
    """Validate a parsed YAML mapping into a :class:`Config`; ``overrides`` are the ``--set``
    options applied to it, named in the message when a problem is theirs."""
    try:
        return Config.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(
            _format_validation_error(error, where, overrides),
            hint="every key is documented in the README's configuration section",
        ) from None


def read_config_mapping(path: Path) -> dict[str, Any]:
    """Read ``path`` as a YAML mapping, with file:line in any syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no config file",
            hint="run `lifelong init DIR` to create a project, or cd into one",
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: malformed YAML: {error.problem}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return raw


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with dotted ``key=value`` overrides applied.

    Values are parsed as YAML, so ``training.epochs=3`` gives an int and
    ``finetune.exclude=[norms]`` a list.

    >>> apply_overrides({"training": {"epochs": 8}}, ["training.epochs=3"])
    {'training': {'epochs': 3}}
    """
    result: dict[str, Any] = _deep_copy(raw)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. training.epochs=3")
        node = result
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {part} is not a section")
            node = child
        node[parts[-1]] = yaml.safe_load(value) if value.strip() else None
    return result


def _deep_copy(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in raw.items()}


def load_config(path: Path, overrides: list[str] | None = None) -> Config:
    """Read, override and validate ``path``."""
    raw = apply_overrides(read_config_mapping(path), overrides or [])
    return parse_config(raw, where=str(path), overrides=overrides or [])


def new_salt() -> str:
    """A random split salt for a new project (fixed forever once written)."""
    return secrets.token_hex(8)
