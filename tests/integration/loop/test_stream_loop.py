"""The loop, the gate and ``lifelong compress`` on a streamed project (``training.stream: true``),
whose snapshots list files, not examples: volume counted by file, old examples taken from the
stream's test sample of unchanged files, the parent's training texts streamed again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lifelong.compression import touched_buckets
from lifelong.core.errors import ConfigError, DataError
from lifelong.core.types import files_snapshot_id
from lifelong.data import load_dataset
from lifelong.data.read import read_paths
from lifelong.data.stream import project_source
from lifelong.monitoring import TriggerResult
from lifelong.pipelines import data_view, loop, retrain, review
from lifelong.pipelines.compress import CompressOptions, compress_version
from lifelong.pipelines.judge import evaluate_version
from lifelong.pipelines.loop import run_cycle
from lifelong.pipelines.retrain import TrainOptions, train_version
from lifelong.pipelines.session import load_bundle
from lifelong.project import Project
from lifelong.registry import Registry, open_registry
from lifelong.scaffold import init_project

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _registry(project: Project) -> Registry:
    project.state_dir.mkdir(parents=True, exist_ok=True)
    return open_registry(project.store_url, project.artifacts_dir)


@pytest.fixture
def streamed(tmp_path: Path) -> Project:
    """The sample project, its Rasa file as JSON Lines, streamed, small and with a fixed salt;
    the intake screen is off (these tests are about the trigger and the gate)."""
    root = tmp_path / "demo"
    init_project(root)
    nlu = root / "data" / "nlu.yml"
    rows = read_paths([nlu]).examples
    (root / "data" / "nlu.jsonl").write_text(
        "".join(json.dumps({"text": e.original, "intent": e.label}) + "\n" for e in rows)
    )
    nlu.unlink()
    path = root / "config.yml"
    config = yaml.safe_load(path.read_text())
    config["pipeline"]["ngrams"].update({"buckets": 16384, "dim": 32, "storage": "full"})
    config["pipeline"]["hidden"] = 64
    config["training"].update({"epochs": 6, "stream": True})
    config["splits"]["salt"] = "stream-loop-tests"  # init draws a random salt
    config["policy"]["screen"] = None
    path.write_text(yaml.safe_dump(config))
    return Project.load(root)


def _inbox(project: Project, name: str, rows: list[dict[str, str]]) -> None:
    (project.inbox / name).write_text("".join(json.dumps(r) + "\n" for r in rows))


def _volume(result: TriggerResult) -> TriggerResult:
    (volume,) = [c for c in result.children or (result,) if c.name == "volume"]
    return volume


def test_the_volume_trigger_counts_rows_of_new_files_and_stays_quiet_without(
    streamed: Project,
) -> None:
    with _registry(streamed) as registry:
        first = run_cycle(streamed, registry)  # no champion: trains cold, first model ships
        assert first.outcome == "promoted", first.error
        latest = registry.store.latest_snapshot()
        assert latest is not None
        assert latest.kind == "files"
        quiet = run_cycle(streamed, registry)
        assert quiet.outcome == "nothing", quiet.error
        assert quiet.trigger is not None
        volume = _volume(quiet.trigger)
        assert not volume.fired
        assert volume.figures["n_new"] == 0
        trained_rows = volume.figures["n_train"]
        assert trained_rows == sum(f.rows for f in registry.get_snapshot_files(latest.id))
        batch = [
            json.loads(line)
            for line in (streamed.root / "batches" / "day1.jsonl").read_text().splitlines()
        ]
        _inbox(streamed, "day1.jsonl", batch)
        grown = run_cycle(streamed, registry)
        assert grown.trigger is not None
        assert "volume" in grown.trigger.fired_names(), grown.trigger.reason
        volume = _volume(grown.trigger)
        assert volume.figures["n_new"] == grown.data["new"] > 0
        assert volume.figures["n_train"] == trained_rows
        assert grown.outcome in ("promoted", "rejected"), grown.error
        assert grown.plans[0].parent == "1.0"
        # every snapshot the loop wrote lists files: no example rows in the registry
        assert {s.kind for s in registry.store.list_snapshots()} == {"files"}
        # the cycle read only the new file again; its manifests are those of a whole pass
        whole = project_source(streamed)[0].scan().files
        stored = registry.get_snapshot_files(files_snapshot_id(whole))
        assert {f.path: f for f in stored} == {f.path: f for f in whole}
        after = run_cycle(streamed, registry)
        assert after.outcome == "nothing", after.trigger


def test_ingestion_recognises_repeats_and_relabels_without_reading_the_data_whole(
    streamed: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _registry(streamed) as registry:
        assert run_cycle(streamed, registry).outcome == "promoted"

        def whole(*args: object, **kwargs: object) -> None:
            raise AssertionError("a streamed project's loop read its data whole")

        monkeypatch.setattr(loop, "load_dataset", whole)
        monkeypatch.setattr(data_view, "load_dataset", whole)
        known = {"text": "hellooo anyone", "intent": "greet"}  # in data/extra.jsonl
        relabel = {"text": "hellooo anyone", "intent": "thank_you"}
        fresh = {"text": "good evening to the whole support team", "intent": "greet"}
        _inbox(streamed, "batch.jsonl", [known, relabel, fresh])
        result = run_cycle(streamed, registry, force=True)
        assert result.outcome in ("promoted", "rejected"), result.error
        assert (result.data["new"], result.data["already_present"]) == (1, 1)
        assert result.data["held_reasons"] == {"relabel": 1}


def test_the_gate_checks_old_examples_of_a_streamed_update_and_rejects_forgetting(
    streamed: Project,
) -> None:
    with _registry(streamed) as registry:
        assert run_cycle(streamed, registry).outcome == "promoted"
        # new wordings of every example of two intents, each under the other intent: the
        # update learns to answer old questions of both with the wrong intent
        swap = {"return_item": "refund_status", "refund_status": "return_item"}
        rows = [
            {"text": f"{prefix} {e.original}", "intent": swap[e.label]}
            for e in load_dataset(streamed).pool.examples.values()
            if e.label in swap
            for prefix in ("hi,", "quick question:")
        ]
        _inbox(streamed, "swapped.jsonl", rows)
        result = run_cycle(streamed, registry)
        assert result.outcome == "rejected", result.error
        verdict = result.judgements[0].verdict
        old = verdict.slice("old")
        assert old is not None, verdict.reasons
        assert old.n_examples > 0
        assert old.violated or verdict.violations, verdict.reasons
        assert registry.store.aliases()["champion"] == "1.0"
        forgetting = result.judgements[0].forgetting
        assert forgetting is not None
        assert forgetting.n_old == old.n_examples


def test_a_gate_with_no_old_examples_says_it_did_not_check(streamed: Project) -> None:
    with _registry(streamed) as registry:
        assert run_cycle(streamed, registry).outcome == "promoted"
        # every file of the champion's snapshot changes: none of its test examples is old
        for path in sorted((streamed.root / "data").glob("*.jsonl")):
            with path.open("a") as handle:
                handle.write(
                    json.dumps({"text": f"one more line in {path.stem}", "intent": "greet"})
                )
                handle.write("\n")
        result = run_cycle(streamed, registry, force=True)
        assert result.judgements, result.error
        verdict = result.judgements[0].verdict
        assert verdict.slice("old") is None
        assert any("backward transfer NOT checked" in r for r in verdict.reasons)


def test_compress_prunes_a_streamed_version_to_the_rows_its_training_texts_touch(
    streamed: Project,
) -> None:
    with _registry(streamed) as registry:
        parent = train_version(streamed, registry, TrainOptions(progress=False)).version
        # a file added after the training: its texts are not the parent's
        extra = {"text": "a sentence the parent never saw", "intent": "greet"}
        (streamed.root / "data" / "later.jsonl").write_text(json.dumps(extra) + "\n")
        result = compress_version(streamed, registry, parent.label, CompressOptions("prune"))
        texts = [e.text for e in load_dataset(streamed).splits.train if e.text != extra["text"]]
        bundle = load_bundle(streamed, registry, parent.label)
        assert result.version.training["n_texts"] == parent.metrics["split_sizes"]["train"]
        assert result.version.training["n_texts"] == len(texts)
        assert result.after.stored_rows == len(touched_buckets(bundle.featurizer, texts))
        assert result.after.stored_rows < result.before.stored_rows
        # judged on the stream's test sample: the parent's files hold old examples
        forgetting = result.judgement.forgetting
        assert forgetting is not None
        assert forgetting.n_old > 0


def test_an_allocation_failure_names_the_keys_and_registers_nothing(
    streamed: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    def allocation_fails(*args: object, **kwargs: object) -> None:
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: "
            "you tried to allocate 268435456 bytes."
        )

    monkeypatch.setattr(retrain, "train_stream", allocation_fails)
    with _registry(streamed) as registry:
        with pytest.raises(ConfigError) as raised:
            train_version(streamed, registry, TrainOptions(progress=False))
        assert registry.versions() == []
    message = f"{raised.value.message} {raised.value.hint}"
    assert "training.batch_size" in message
    assert "training.stream_buffer" in message
    assert f"training.batch_size is {streamed.config.training.batch_size}" in message


CAPPED_TRAIN = """
import resource, sys
import torch  # counted in the address space before the cap, as in a real run
from lifelong.cli.main import app

status = dict(line.split(":", 1) for line in open("/proc/self/status"))
cap = int(status["VmSize"].split()[0]) * 1024 + (400 << 20)
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
app(["--project", sys.argv[1], "--set", "pipeline.ngrams.buckets=16777216",
     "--set", "pipeline.ngrams.dim=64", "train"], prog_name="lifelong")
"""


def test_a_real_memory_cap_too_small_is_a_clear_error_and_registers_nothing(
    streamed: Project,
) -> None:
    # 400 MB above what the imports take, and a 16M x 64 table (4 GB): torch's own
    # allocation error, turned into one that names the keys
    run = subprocess.run(
        [sys.executable, "-c", CAPPED_TRAIN, str(streamed.root)],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
        check=False,
    )
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode == 1, output
    assert "out of memory" in output
    assert "training.batch_size" in output
    assert "training.stream_buffer" in output
    assert "Traceback" not in output
    with _registry(streamed) as registry:
        assert registry.versions() == []


def test_evaluate_scores_a_streamed_version_on_the_stream_test_sample(streamed: Project) -> None:
    with _registry(streamed) as registry:
        version = train_version(streamed, registry, TrainOptions(progress=False)).version
        report = evaluate_version(streamed, registry, version.label)
        evaluation = registry.resolve(version.label).metrics["evaluation"]
    assert report.n_examples == version.metrics["split_sizes"]["test"]
    assert evaluation["snapshot"] == version.snapshot_id  # the same files, the same id


def test_review_acceptance_checks_a_streamed_project_in_one_pass(
    streamed: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _registry(streamed) as registry:
        assert run_cycle(streamed, registry).outcome == "promoted"
        # a new intent with one example: held, since it could not train
        _inbox(streamed, "lonely.jsonl", [{"text": "book me a dentist", "intent": "dentist"}])
        run_cycle(streamed, registry)
        (item,) = review.items(registry)
        assert item.reason == "too-few-examples"

        def whole(*args: object, **kwargs: object) -> None:
            raise AssertionError("a streamed project's review read its data whole")

        monkeypatch.setattr(review, "load_dataset", whole)
        with pytest.raises(DataError, match=r"would leave data that cannot train: .*dentist"):
            review.accept(streamed, registry, [item.id])
        assert review.items(registry)[0].status == "pending"
