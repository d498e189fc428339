"""Benchmark: the compression methods of the fast pipeline, side by side, one table per data set.

For CLINC150 and BANKING77 (read by path from ``../shared/datasets``) the default fast pipeline
with its full fp32 table (``pipeline.ngrams.storage: full``) is trained on the train file (10%
carved off for early stopping), then each method is applied to that parent and measured; the
last row is the same training with the default compact storage. Figures: file size of the
saved bundle, peak RSS of a fresh process that loads it and scores the test texts, single-text
p50/p99 latency, batch throughput (batches of 256, the median of 5 rounds), test accuracy and
its delta from the parent. The sample project (``project_template``) gives the sizes of a
small project.

``--server`` adds what a user of ``lifelong serve`` sees, per row: each form is registered as
the champion of a scratch project, ``lifelong serve`` is started on it, and one client sends
single-text ``POST /predict`` requests (CLINC150's test texts in turn, ``bench/serve.py``'s raw
HTTP client in a second process) for ``--server-seconds``; the table then gets the server's
p50/p99 and the peak RSS of the server process (``VmHWM``), model, FastAPI and prediction log
included.

``--neurons`` gives instead a table per data set for hidden-unit pruning (``--method
prune-neurons``) of the default fast version (compact storage): the kept fraction, the importance
criterion and the recovery epochs of each row, the time the method took, the hidden width, the
figures above, and the time of the head alone (hidden layer, relu, output layer); the batch and
head times are medians of 15 rounds that time every row in turn.

``--encoders`` adds a table per data set for the MiniLM runtimes of ``embeddings: minilm``
(``pipeline.embeddings_runtime``): encoder throughput on 1,000 test texts (median of 3 rounds,
the runtimes interleaved so machine load hits them alike; one thread each, since on a shared
2-core machine two torch threads were ~3x slower than one), the ratio to fp32 PyTorch, the
cosine of each vector to the fp32 one, and the test accuracy of the fast pipeline with MiniLM
trained on that runtime's vectors.

``--transformer`` benches the ``transformer`` pipeline instead (MiniLM fine-tuned end to end):
it is trained on the same split with settings affordable on 2 shared cores (``--tx-epochs``,
``--tx-freeze`` lower layers frozen, ``--tx-lr``, batch ``--tx-batch``, on ``--tx-threads``
torch threads; the timing is on one thread; a parent trained with the same settings before is
read back from ``--tx-parents``), then each row of :data:`TRANSFORMER_PLAN` (``--tx-rows``) is
made from it and measured as above (file size, peak RSS, single-text p50/p99, batch time per
text, test accuracy and delta) plus the accuracy on the valid split, which is what to choose
options by (the test split only reports), the single-text latencies in turns across the rows
(:func:`interleaved_latency`); ``--tx-batch-rounds`` sets the batch timing's rounds (a round
of the whole test split takes minutes in fp32). Run from the project root::

    PYTHONPATH=src python bench/compress.py [--epochs 3] [--datasets clinc150 banking77 sample]
        [--server [--server-seconds 8]]
    PYTHONPATH=src python bench/compress.py --encoders --datasets clinc150 banking77
    PYTHONPATH=src python bench/compress.py --neurons --datasets clinc150 banking77
    PYTHONPATH=src python bench/compress.py --transformer --datasets clinc150 banking77
    PYTHONPATH=src python bench/compress.py --distill --datasets banking77 clinc150 [-o KEY=VALUE]

``--distill`` compares a MiniLM teacher, the fast pipeline on labels alone and its distilled
students (``compress.distill``'s defaults, ``-o`` over them), all scored on the held-out half
of the test split; the other half's texts stand for the prediction log (see
:func:`bench_distill`).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from finetune import load as load_public  # the sibling scripts (bench/ is sys.path[0])
from lifelong.compression import METHODS
from lifelong.config import DistillStudent, NGrams, Pipeline, Training, TransformerSettings
from lifelong.config import Prune as PruneOptions
from lifelong.core.types import Example, normalize_text
from lifelong.data import read_paths
from lifelong.features import minilm_path
from lifelong.features.encoders import RUNTIMES, make_encoder
from lifelong.models import IntentClassifier, ModelBundle, head_inputs, stored_row_count
from lifelong.scaffold import MINILM_RECIPE
from lifelong.training import train
from lifelong.training.distill import distill, student_settings
from lifelong.training.regularizers import Distillation
from serve import Load, make_project, start_server

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
TEMPLATE = Path(__file__).resolve().parents[1] / "src" / "lifelong" / "project_template"
BATCH_ROUNDS = 5
"""The whole test split is scored this many times; the batch figure is the median round."""
Step = tuple[str, dict[str, object]]
PLAN: dict[str, list[Step]] = {  # row name -> methods (and options) applied in order
    "parent fp32": [],
    "int8": [("int8", {})],
    "int4": [("int4", {})],
    "prune": [("prune", {})],
    "prune + fp16 (compact)": [("prune", {}), ("fp16", {})],
    "prune + int8": [("prune", {}), ("int8", {})],
}


def _cut(
    heads: float, ffn: float, recovery: float
) -> tuple[str, tuple[str, str, dict[str, object]]]:
    """A ``--transformer`` row pruning the fp32 parent (the other options: the defaults)."""
    options = {**PruneOptions().model_dump(), "heads": heads, "ffn": ffn, "recovery": recovery}
    return f"prune heads {heads} ffn {ffn} recovery {recovery}", ("fp32", "prune", options)


TRANSFORMER_PLAN: dict[str, tuple[str, str, dict[str, object]]] = {
    "int8": ("fp32", "int8", {}),
    **dict(
        _cut(*cut)
        for cut in [
            (0.5, 0.5, 0.25),
            (0.25, 0.25, 0.25),
            (0.25, 0.5, 0.25),
            (0.5, 0.25, 0.25),
            (0.5, 0.5, 1.0),
            (0.25, 0.25, 1.0),
            (0.25, 0.5, 1.0),
        ]
    ),
    "prune + int8": ("prune heads 0.5 ffn 0.5 recovery 0.25", "int8", {}),
}
"""Rows of ``--transformer`` after the ``fp32`` parent: row -> (row it is made from, method,
options); ``--tx-rows`` picks some (the default: all)."""


def _neurons(fraction: float, epochs: int, criterion: str = "taylor") -> Step:
    return ("prune-neurons", {"neurons": fraction, "recover_epochs": epochs,
                              "criterion": criterion})  # fmt: skip


NEURON_PLAN: dict[str, list[Step]] = {  # of the default (compact) version
    "parent (default)": [],
    "neurons 0.5 activation, no recovery": [_neurons(0.5, 0, "activation")],
    "neurons 0.5, no recovery": [_neurons(0.5, 0)],
    "neurons 0.5, recover 1": [_neurons(0.5, 1)],
    "neurons 0.5, recover 3": [_neurons(0.5, 3)],
    "neurons 0.5, recover 5": [_neurons(0.5, 5)],
    "neurons 0.25 activation, no recovery": [_neurons(0.25, 0, "activation")],
    "neurons 0.25 activation, recover 3": [_neurons(0.25, 3, "activation")],
    "neurons 0.25, no recovery": [_neurons(0.25, 0)],
    "neurons 0.25, recover 3": [_neurons(0.25, 3)],
    "neurons 0.1, recover 3": [_neurons(0.1, 3)],
    "int8 + neurons 0.25, recover 3": [("int8", {}), _neurons(0.25, 3)],
}
"""Rows without a criterion named use the default, ``taylor``."""


def applied(bundle: ModelBundle, steps: list[Step], examples: list[Example]) -> ModelBundle:
    """``bundle`` after each method of ``steps`` in turn, as ``lifelong compress`` applies it."""
    for method, options in steps:
        bundle = METHODS[method].apply(bundle, options, examples)
    return bundle


def _read(path: Path) -> list[Example]:
    return [Example.make(r["text"], r["intent"]) for r in map(json.loads, path.open())]


def load(name: str) -> tuple[list[Example], list[Example]]:
    """Train and test examples of a data set (the sample: a fixed 85/15 shuffle)."""
    if name == "sample":
        examples = list(read_paths([TEMPLATE / "data"]).examples)
        random.Random(0).shuffle(examples)
        cut = int(0.85 * len(examples))
        return examples[:cut], examples[cut:]
    folder = SHARED / name
    return _read(folder / "train.jsonl"), _read(folder / "test.jsonl")


def peak_rss_mb(folder: Path, texts: list[str]) -> float:
    """Peak RSS of a fresh process that loads the bundle and scores ``texts``.

    ``VmHWM`` of the child, not its ``ru_maxrss``: Linux keeps the latter across ``exec``, so a
    child forked from this (large) process would report the parent's peak.
    """
    code = (
        "import json,sys\n"
        "from lifelong.models import ModelBundle\n"
        "b=ModelBundle.load(sys.argv[1]); b.predict_proba(json.load(sys.stdin))\n"
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder)],
        input=json.dumps(texts), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(done.stdout.split()[-1]) / 1024


def accuracy(bundle: ModelBundle, examples: list[Example]) -> float:
    """Fraction of ``examples`` whose label is the bundle's top class."""
    proba = bundle.proba_normalized([e.text for e in examples])
    return float(
        np.mean(
            [
                bundle.labels[i] == e.label
                for i, e in zip(proba.argmax(axis=1), examples, strict=True)
            ]
        )
    )


def measure(
    bundle: ModelBundle, folder: Path, test: list[Example], rounds: int = BATCH_ROUNDS
) -> dict[str, float]:
    texts = [normalize_text(e.text) for e in test]
    single = texts[:300]
    bundle.proba_normalized(single[:20])
    times = []
    for text in single:
        started = time.perf_counter()
        bundle.proba_normalized([text])
        times.append((time.perf_counter() - started) * 1000)
    batch_times = []
    for _ in range(rounds):
        started = time.perf_counter()
        proba = bundle.proba_normalized(texts)
        batch_times.append(time.perf_counter() - started)
    batch_s = statistics.median(batch_times)
    predicted = [bundle.labels[i] for i in proba.argmax(axis=1)]
    accuracy = float(np.mean([p == e.label for p, e in zip(predicted, test, strict=True)]))
    return {
        "size_mb": sum(p.stat().st_size for p in folder.iterdir()) / 1e6,
        "rss_mb": peak_rss_mb(folder, texts[:256]),
        "p50_ms": statistics.median(times),
        "p99_ms": statistics.quantiles(times, n=100)[98],
        "batch_per_s": len(texts) / batch_s,
        "accuracy": accuracy,
        "rows": stored_row_count(bundle.module),
    }


def measure_server(folder: Path, seconds: float) -> dict[str, float]:
    """Single-text latency through ``lifelong serve`` holding the bundle in ``folder``, and the
    server process's peak RSS."""
    project = folder.with_name(folder.name + "-project")
    project.mkdir()
    make_project(project, folder)
    server = start_server(project, token="bench")
    try:
        assert server.process is not None
        pid = server.process.pid
        load = Load(server.url, concurrency=1, duration=seconds, batch=0, client="raw",
                    server_pid=pid)  # fmt: skip
        figures = load.run()
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    finally:
        server.stop()
    if figures["failed"]:
        raise SystemExit(f"{folder.name}: {figures['failed']} requests failed")
    return {"server_rss_mb": peak_kb / 1024, "server_p50_ms": figures["p50_ms"],
            "server_p99_ms": figures["p99_ms"]}  # fmt: skip


def bench(name: str, epochs: int, tmp: Path, server: float | None) -> list[dict[str, object]]:
    train_examples, test = load(name)
    random.Random(1).shuffle(train_examples)
    n_valid = len(train_examples) // 10
    valid, fit = train_examples[:n_valid], train_examples[n_valid:]
    started = time.perf_counter()
    full = Pipeline(ngrams=NGrams(storage="full"))
    parent = train(fit, valid, pipeline=full, training=Training(epochs=epochs), progress=False)
    print(f"{name}: trained in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    # the default: the same training (seed), stored compact by the training itself
    default = train(fit, valid, pipeline=Pipeline(), training=Training(epochs=epochs),
                    progress=False).bundle  # fmt: skip
    rows: list[dict[str, object]] = []
    for row, steps in PLAN.items():
        rows.append(_row(row, applied(parent.bundle, steps, fit), tmp / name, test, server))
    rows.append(_row("default (compact storage)", default, tmp / name, test, server))
    return rows


def _row(
    row: str,
    bundle: ModelBundle,
    tmp: Path,
    test: list[Example],
    server: float | None,
    rounds: int = BATCH_ROUNDS,
) -> dict[str, object]:
    folder = tmp / row.replace(" ", "_").replace("+", "plus").replace("(", "").replace(")", "")
    bundle.save(folder)
    loaded = ModelBundle.load(folder)
    figures: dict[str, object] = {"method": row, "format": loaded.spec.weights_format}
    figures |= measure(loaded, folder, test, rounds)
    if server is not None:
        figures |= measure_server(folder, server)
        print(f"{row}: served {figures}", file=sys.stderr, flush=True)
    return figures


def bench_neurons(name: str, epochs: int, tmp: Path) -> list[dict[str, object]]:
    """One row per :data:`NEURON_PLAN` entry, each applied to the default fast version; batch
    and head times measured afterwards, the rows interleaved (:func:`interleaved_times`)."""
    train_examples, test = load(name)
    random.Random(1).shuffle(train_examples)
    n_valid = len(train_examples) // 10
    valid, fit = train_examples[:n_valid], train_examples[n_valid:]
    parent = train(fit, valid, pipeline=Pipeline(), training=Training(epochs=epochs),
                   progress=False).bundle  # fmt: skip
    rows: list[dict[str, object]] = []
    bundles: list[ModelBundle] = []
    for row, steps in NEURON_PLAN.items():
        started = time.perf_counter()
        bundle = applied(parent, steps, fit)
        seconds = time.perf_counter() - started
        module = bundle.module
        assert isinstance(module, IntentClassifier)
        figures = _row(row, bundle, tmp / name, test, None)
        rows.append({**figures, "hidden": module.hidden.out_features, "method_s": seconds})
        bundles.append(bundle)
        print(f"{name} {row}: {rows[-1]}", file=sys.stderr, flush=True)
    for row_figures, (batch_s, head_s) in zip(rows, interleaved_times(bundles, test), strict=True):
        row_figures |= {"batch_per_s": len(test) / batch_s, "head_us": 1e6 * head_s / len(test)}
    return rows


def interleaved_times(
    bundles: list[ModelBundle], test: list[Example], rounds: int = 3 * BATCH_ROUNDS
) -> list[tuple[float, float]]:
    """Median seconds of each bundle to score the test split in batches, and of its hidden
    layer, relu and output layer alone on the split's hidden inputs (the only part neuron
    pruning narrows). Each round times every bundle in turn, so a spell of load on the shared
    machine hits every row alike."""
    texts = [normalize_text(e.text) for e in test]
    inputs = []
    for bundle in bundles:
        module = bundle.module
        assert isinstance(module, IntentClassifier)
        inputs.append(head_inputs(module, bundle.featurizer.transform(texts), layer="hidden"))
    batch: list[list[float]] = [[] for _ in bundles]
    head: list[list[float]] = [[] for _ in bundles]
    with torch.inference_mode():
        for _ in range(rounds):
            for i, (bundle, x) in enumerate(zip(bundles, inputs, strict=True)):
                started = time.perf_counter()
                bundle.proba_normalized(texts)
                batch[i].append(time.perf_counter() - started)
                module = bundle.module
                assert isinstance(module, IntentClassifier)
                started = time.perf_counter()
                module.out(torch.relu(module.hidden(x)))
                head[i].append(time.perf_counter() - started)
    return [(statistics.median(b), statistics.median(h)) for b, h in zip(batch, head, strict=True)]


def neuron_table(name: str, rows: list[dict[str, object]], epochs: int) -> str:
    base = rows[0]
    lines = [
        f"### {name}: hidden-unit pruning of the default fast version ({epochs} epochs)",
        "",
        "| row | format | hidden | file MB | p50 ms | p99 ms | batch texts/s | x parent "
        "| head µs/text | accuracy | delta pts | method s |",
        "| --- | --- |" + " ---: |" * 10,
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['format']} | {r['hidden']} | {r['size_mb']:.2f} | "
            f"{r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['batch_per_s']:,.0f} | "
            f"{float(r['batch_per_s']) / float(base['batch_per_s']):.2f} | "  # type: ignore[arg-type]
            f"{r['head_us']:.2f} | {r['accuracy']:.4f} | "
            f"{100 * (float(r['accuracy']) - float(base['accuracy'])):+.2f} | "  # type: ignore[arg-type]
            f"{r['method_s']:.1f} |"
        )
    return "\n".join(lines)


def bench_transformer(name: str, args: argparse.Namespace, tmp: Path) -> list[dict[str, object]]:
    """The transformer pipeline trained on ``name`` (``--tx-*`` settings), then one row per
    :data:`TRANSFORMER_PLAN` entry, each saved, loaded back and measured on one thread."""
    train_examples, test = load(name)
    random.Random(1).shuffle(train_examples)
    if args.limit:  # a smoke run: the first examples of the shuffled split
        train_examples, test = train_examples[: args.limit], test[: args.limit]
    n_valid = len(train_examples) // 10
    valid, fit = train_examples[:n_valid], train_examples[n_valid:]
    settings = TransformerSettings(freeze_layers=args.tx_freeze, lr=args.tx_lr)
    training = Training(epochs=args.tx_epochs, batch_size=args.tx_batch, keep="last")
    torch.set_num_threads(args.tx_threads)
    started = time.perf_counter()
    saved = args.tx_parents / f"{name}-{args.tx_epochs}-{args.tx_freeze}-{args.tx_lr}-{args.limit}"
    if saved.is_dir():  # the parent of an earlier run with these settings
        parent = ModelBundle.load(saved)
    else:
        parent = train(fit, valid, pipeline=Pipeline(name="transformer", transformer=settings),
                       training=training, progress=False).bundle  # fmt: skip
        parent.save(saved)
    train_s = time.perf_counter() - started
    print(f"{name}: transformer parent in {train_s:.0f} s", file=sys.stderr, flush=True)
    made = {"fp32": parent}
    torch.set_num_threads(1)

    def row_of(row: str, made_s: float) -> dict[str, object]:
        figures = _row(row, made[row], tmp / name, test, None, args.tx_batch_rounds)
        return figures | {"made_s": made_s, "valid": accuracy(made[row], valid)}

    rows = [row_of("fp32", train_s)]
    for row in args.tx_rows:
        source, method, options = TRANSFORMER_PLAN[row]
        torch.set_num_threads(args.tx_threads)  # making a row may train (a recovery fine-tune)
        started = time.perf_counter()
        made[row] = METHODS[method].apply(made[source], options, fit)
        made_s = time.perf_counter() - started
        torch.set_num_threads(1)
        rows.append(row_of(row, made_s))
        print(f"{name} {row}: {rows[-1]}", file=sys.stderr, flush=True)
    latency = interleaved_latency(made, [normalize_text(e.text) for e in test[:300]])
    for r in rows:
        r |= latency[str(r["method"])]
    return rows


def interleaved_latency(
    bundles: dict[str, ModelBundle], texts: list[str]
) -> dict[str, dict[str, float]]:
    """Single-text p50/p99 of each bundle, the bundles taking turns on every text, so a change
    of the shared host's load hits them alike (timed one after the other, the ratios swung by
    2x between runs)."""
    times: dict[str, list[float]] = {row: [] for row in bundles}
    for bundle in bundles.values():
        bundle.proba_normalized(texts[:20])  # warm-up
    for text in texts:
        for row, bundle in bundles.items():
            started = time.perf_counter()
            bundle.proba_normalized([text])
            times[row].append((time.perf_counter() - started) * 1000)
    return {row: {"p50_ms": statistics.median(t), "p99_ms": statistics.quantiles(t, n=100)[98]}
            for row, t in times.items()}  # fmt: skip


def transformer_table(name: str, rows: list[dict[str, object]], args: argparse.Namespace) -> str:
    base = rows[0]
    ratio = lambda key, r: float(base[key]) / float(r[key])  # noqa: E731
    lines = [
        f"### {name}: transformer pipeline (MiniLM-L6 fine-tuned {args.tx_epochs} epoch(s), "
        f"lower {args.tx_freeze} layers frozen, lr {args.tx_lr}, batch {args.tx_batch}, "
        f"trained on {args.tx_threads} threads; timed on 1)",
        "",
        "| row | format | file MB | x smaller | peak RSS MB | p50 ms | p99 ms | x faster (p50) "
        "| batch ms/text | x faster (batch) | valid acc | valid delta | accuracy | delta pts "
        "| made in s |",
        "| --- | --- |" + " ---: |" * 13,
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['format']} | {float(r['size_mb']):.1f} | "  # type: ignore[arg-type]
            f"{ratio('size_mb', r):.2f} | {float(r['rss_mb']):.0f} | "  # type: ignore[arg-type]
            f"{float(r['p50_ms']):.2f} | {float(r['p99_ms']):.2f} | "  # type: ignore[arg-type]
            f"{ratio('p50_ms', r):.2f} | {1000 / float(r['batch_per_s']):.2f} | "  # type: ignore[arg-type]
            f"{float(r['batch_per_s']) / float(base['batch_per_s']):.2f} | "  # type: ignore[arg-type]
            f"{float(r['valid']):.4f} | "  # type: ignore[arg-type]
            f"{100 * (float(r['valid']) - float(base['valid'])):+.2f} | "  # type: ignore[arg-type]
            f"{float(r['accuracy']):.4f} | "  # type: ignore[arg-type]
            f"{100 * (float(r['accuracy']) - float(base['accuracy'])):+.2f} | "  # type: ignore[arg-type]
            f"{float(r['made_s']):.0f} |"  # type: ignore[arg-type]
        )
    return "\n".join(lines)


def bench_encoders(name: str, epochs: int, tmp: Path) -> list[dict[str, object]]:
    """One row per MiniLM runtime: encoder speed and agreement, downstream accuracy."""
    train_examples, test = load(name)
    random.Random(1).shuffle(train_examples)
    n_valid = len(train_examples) // 10
    valid, fit = train_examples[:n_valid], train_examples[n_valid:]
    sample = [normalize_text(e.text) for e in test[:1000]]
    encoders = {rt: make_encoder(minilm_path(), rt, tmp / "encoders") for rt in RUNTIMES}
    seconds: dict[str, list[float]] = {rt: [] for rt in RUNTIMES}
    vectors = {}
    for encode in encoders.values():
        encode(sample[:64])  # warm-up
    for _ in range(3):
        for rt, encode in encoders.items():
            started = time.perf_counter()
            vectors[rt] = encode(sample)
            seconds[rt].append(time.perf_counter() - started)
    rows: list[dict[str, object]] = []
    for rt in RUNTIMES:
        cosine = (vectors[rt] * vectors["torch"]).sum(axis=1)
        pipeline = Pipeline(embeddings="minilm", embeddings_runtime=rt)
        bundle = train(fit, valid, pipeline=pipeline, training=Training(epochs=epochs),
                       cache_dir=tmp / "cache", progress=False).bundle  # fmt: skip
        predicted, _ = bundle.predict([e.text for e in test])
        accuracy = float(np.mean([p == e.label for p, e in zip(predicted, test, strict=True)]))
        rows.append({"runtime": rt, "texts_per_s": len(sample) / statistics.median(seconds[rt]),
                     "cos_mean": float(cosine.mean()), "cos_min": float(cosine.min()),
                     "accuracy": accuracy})  # fmt: skip
        print(f"{name} {rt}: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def halves(test: list[Example]) -> tuple[list[Example], list[Example]]:
    """The test split by content hash: a half served (its texts, unlabeled, are what the
    prediction log holds under ``server.log_text``) and a held-out half every row is scored on."""
    served = [e for e in test if int(e.hash[:8], 16) % 2 == 0]
    return served, [e for e in test if int(e.hash[:8], 16) % 2 == 1]


def bench_distill(
    name: str, tmp: Path, cache: Path, options: DistillStudent
) -> list[dict[str, object]]:
    """Teacher (fast + MiniLM, ``lifelong init``'s recipe), the fast pipeline on labels alone,
    and its distilled students (``lifelong compress --method distill``'s training, at
    ``options``): on the training texts alone, and with the served half of the test split as
    prediction-log texts. Every row is scored on the held-out half. Each is saved and loaded back
    without an embedding cache, so the teacher's single-text latency includes encoding the text."""
    fit, valid, test = load_public(name, SHARED)
    served, held_out = halves(test)
    logged = [normalize_text(e.text) for e in served]
    teacher_pipeline = Pipeline.model_validate(MINILM_RECIPE["pipeline"])
    teacher_training = Training.model_validate(MINILM_RECIPE["training"])
    started = time.perf_counter()
    teacher = train(fit, valid, pipeline=teacher_pipeline, training=teacher_training,
                    cache_dir=cache, progress=False).bundle  # fmt: skip
    seconds = {"teacher": time.perf_counter() - started}
    started = time.perf_counter()
    labels_only = train(fit, valid, pipeline=Pipeline(), training=Training(),
                        progress=False).bundle  # fmt: skip
    seconds["labels only"] = time.perf_counter() - started
    student = student_settings("compact", 0, options.epochs)
    term = Distillation(options.weight, options.temperature)
    students = {}
    for row, unlabeled in (("distilled", []), ("distilled + log texts", logged)):
        started = time.perf_counter()
        students[row] = distill(teacher, fit, valid, unlabeled, student=student,
                                distillation=term).bundle  # fmt: skip
        seconds[row] = time.perf_counter() - started
    rows: list[dict[str, object]] = []
    texts = [normalize_text(e.text) for e in held_out]
    teacher_top = teacher.proba_normalized(texts).argmax(axis=1)
    for row, bundle in {"teacher": teacher, "labels only": labels_only, **students}.items():
        folder = tmp / name / row.replace(" ", "-").replace("+", "plus")
        bundle.save(folder)
        loaded = ModelBundle.load(folder)  # no cache: MiniLM encodes every text it scores
        figures = measure(loaded, folder, held_out)
        agree = loaded.proba_normalized(texts).argmax(axis=1) == teacher_top
        rows.append({"model": row, **figures, "agreement": float(np.mean(agree)),
                     "train_s": seconds[row]})  # fmt: skip
        print(f"{name} {row}: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def distill_table(name: str, rows: list[dict[str, object]], options: DistillStudent) -> str:
    by = {str(r["model"]): r for r in rows}
    teacher, base = float(by["teacher"]["accuracy"]), float(by["labels only"]["accuracy"])  # type: ignore[arg-type]
    lines = [
        f"### {name}: distillation into the fast pipeline (T={options.temperature}, "
        f"weight {options.weight}; accuracy on the held-out half of the test split)",
        "",
        "| model | accuracy | gap closed | agreement with teacher | p50 ms | p99 ms "
        "| texts/s (batch) | file MB | train s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        accuracy = float(r["accuracy"])  # type: ignore[arg-type]
        closed = (accuracy - base) / (teacher - base) if teacher != base else float("nan")
        lines.append(
            f"| {r['model']} | {100 * accuracy:.2f} | {100 * closed:.1f}% | "
            f"{100 * float(r['agreement']):.2f} | {float(r['p50_ms']):.3f} | "  # type: ignore[arg-type]
            f"{float(r['p99_ms']):.3f} | {float(r['batch_per_s']):.0f} | "  # type: ignore[arg-type]
            f"{float(r['size_mb']):.1f} | {float(r['train_s']):.0f} |"  # type: ignore[arg-type]
        )
    lines += ["", f"gap teacher - labels only: {100 * (teacher - base):.2f} pts; target: a "
              "student closes >= 50% of it"]  # fmt: skip
    return "\n".join(lines)


def encoder_table(name: str, rows: list[dict[str, object]]) -> str:
    base = rows[0]
    lines = [
        f"### {name}: MiniLM runtimes (fast pipeline + `embeddings: minilm`)",
        "",
        "| runtime | texts/s | x fp32 | cosine mean | cosine min | accuracy | delta pts |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['runtime']} | {r['texts_per_s']:,.0f} | "
            f"{float(r['texts_per_s']) / float(base['texts_per_s']):.2f} | "
            f"{r['cos_mean']:.4f} | {r['cos_min']:.4f} | {r['accuracy']:.4f} | "
            f"{100 * (float(r['accuracy']) - float(base['accuracy'])):+.2f} |"
        )
    return "\n".join(lines)


def table(name: str, rows: list[dict[str, object]]) -> str:
    base = rows[0]
    served = "server_rss_mb" in base
    head = "| method | format | file MB | x smaller | stored rows | peak RSS MB | p50 ms | p99 ms "
    head += "| batch texts/s | accuracy | delta pts |"
    if served:
        head += " server peak RSS MB | server p50 ms | server p99 ms |"
    lines = [f"### {name}", "", head, "| --- | --- |" + " ---: |" * (head.count("|") - 3)]
    for r in rows:
        line = (
            f"| {r['method']} | {r['format']} | {r['size_mb']:.1f} | "
            f"{float(base['size_mb']) / float(r['size_mb']):.1f} | {r['rows']:,} | "
            f"{r['rss_mb']:.0f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | "
            f"{r['batch_per_s']:,.0f} | {r['accuracy']:.4f} | "
            f"{100 * (float(r['accuracy']) - float(base['accuracy'])):+.2f} |"
        )
        if served:
            line += (
                f" {r['server_rss_mb']:.0f} | {r['server_p50_ms']:.2f} | {r['server_p99_ms']:.2f} |"
            )
        lines.append(line)
    return "\n".join(lines)


def distill_options(given: list[str]) -> DistillStudent:
    """``compress.distill``'s defaults with ``KEY=VALUE`` overrides, as ``-o`` gives them."""
    pairs = (item.partition("=") for item in given)
    return DistillStudent.model_validate({k: yaml.safe_load(v) for k, _, v in pairs})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (3: quick)")
    parser.add_argument("--datasets", nargs="+", default=["sample", "clinc150", "banking77"])
    parser.add_argument("--encoders", action="store_true", help="the MiniLM runtime tables")
    parser.add_argument("--server", action="store_true", help="also measure each form served")
    parser.add_argument("--server-seconds", type=float, default=8.0, help="load per served form")
    parser.add_argument("--distill", action="store_true", help="the distillation tables")
    parser.add_argument("--neurons", action="store_true", help="the hidden-unit pruning tables")
    parser.add_argument("--transformer", action="store_true", help="transformer pipeline rows")
    parser.add_argument("--tx-epochs", type=int, default=1, help="transformer training epochs")
    parser.add_argument("--tx-freeze", type=int, default=3, help="lower layers kept frozen")
    parser.add_argument("--tx-lr", type=float, default=2e-4, help="transformer learning rate")
    parser.add_argument("--tx-batch", type=int, default=32, help="transformer batch size")
    parser.add_argument("--tx-threads", type=int, default=1, help="torch threads to train on")
    parser.add_argument("--tx-parents", type=Path, default=Path(__file__).parent / "out" / "tx",
                        help="trained transformer parents, reused by a later run")  # fmt: skip
    parser.add_argument("--tx-rows", nargs="+", default=list(TRANSFORMER_PLAN),
                        choices=list(TRANSFORMER_PLAN), help="transformer rows after fp32 "
                        "(each needs the row it is made from)")  # fmt: skip
    parser.add_argument("--tx-batch-rounds", type=int, default=BATCH_ROUNDS,
                        help="transformer: rounds of the batch timing (median)")  # fmt: skip
    parser.add_argument("--limit", type=int, default=0, help="transformer: train/test cap (smoke)")
    parser.add_argument("--option", "-o", action="append", default=[],
                        help="a compress.distill option: -o temperature=4")  # fmt: skip
    parser.add_argument("--cache", type=Path, default=Path(__file__).parent / "out" / "cache",
                        help="MiniLM embedding cache (shared with bench/pipelines.py)")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch threads {torch.get_num_threads()}, epochs {args.epochs}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets:
            if args.transformer:
                rows = bench_transformer(name, args, Path(tmp))
                print(transformer_table(name, rows, args) + "\n", flush=True)
            elif args.distill:
                options = distill_options(args.option)
                rows = bench_distill(name, Path(tmp), args.cache, options)
                print(distill_table(name, rows, options) + "\n", flush=True)
            elif args.neurons:
                rows = bench_neurons(name, args.epochs, Path(tmp))
                print(neuron_table(name, rows, args.epochs) + "\n", flush=True)
            elif args.encoders:
                rows = bench_encoders(name, args.epochs, Path(tmp) / name)
                print(encoder_table(name, rows) + "\n", flush=True)
            else:
                server = args.server_seconds if args.server else None
                print(table(name, bench(name, args.epochs, Path(tmp), server)) + "\n", flush=True)


if __name__ == "__main__":
    main()
