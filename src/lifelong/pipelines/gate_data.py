"""What the gate judges on, and which of it a version saw: in memory or by file.

The gate scores champion and challenger on the current test split and lets only the ``old``
examples (and the trusted ones) veto: those whose labels the data being judged cannot have
chosen. For data held in memory, ``old`` are the test examples of the version's snapshot of
examples. A streamed project's snapshot lists files, not examples, so the gate works by file:

- the judged test examples are the stream's bounded, stable test sample (the scan's, the same
  one a streamed training is evaluated on), or the ``test:`` files;
- an example is ``old`` for a version when it comes from a file the version's snapshot holds
  unchanged (same path, same sha256): the version trained on that very file, so the data being
  judged did not label it. Rows of a file that changed since are not ``old`` (which rows are
  the old ones is unknown without every row's hash), so an update that appends to files in
  place leaves the check fewer examples; the verdict says when it had none
  (:func:`lifelong.evaluation.decide`).

``lifelong compress`` asks the same of a version's training texts (:func:`trained_examples`):
a streamed version's are the training rows of its unchanged files, read again as a stream.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from lifelong.core.types import Example
from lifelong.data import Dataset, Snapshot, load_dataset, split_of
from lifelong.data.dataset import read_checked
from lifelong.data.split import SplitData
from lifelong.data.stream import StreamSource, project_source, streams
from lifelong.project import Project
from lifelong.registry import ModelVersion, Registry


@dataclass(frozen=True)
class GateData:
    """The data the gate judges on.

    ``dataset`` holds the test split (and valid, trusted, explicit test files). For a streamed
    project, ``source`` is its stream, ``files`` maps each data file's manifest path to its
    sha256 and ``file_of`` maps an example's ``source`` to that path; ``None`` and empty for
    data held in memory.
    """

    dataset: Dataset
    source: StreamSource | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    file_of: Mapping[str, str] = field(default_factory=dict)

    @property
    def test(self) -> list[Example]:
        return list(self.dataset.splits.test)


def gate_data(project: Project) -> GateData:
    """The project's data as the gate needs it: read whole, or, for a streamed project, one
    bounded pass (every row checked) keeping the valid and test samples and the file hashes."""
    if not streams(project):
        return GateData(load_dataset(project))
    source, test_files = project_source(project)
    scan = source.scan()
    _, trusted = read_checked(project.trusted_paths, project)
    test = test_files.sorted_examples() if test_files is not None else scan.test
    dataset = Dataset(
        pool=Snapshot.of([*scan.valid, *test]),
        test=test_files,
        splits=SplitData((), tuple(scan.valid), tuple(test)),
        trusted=trusted,
    )
    return GateData(
        dataset,
        source,
        files={f.path: f.sha256 for f in scan.files},
        file_of={str(path): source.name(path) for path in source.files},
    )


def judged_test_hashes(
    registry: Registry, project: Project, data: GateData, judged: ModelVersion
) -> set[str]:
    """Hashes of the current test examples ``judged`` was judged on too: its snapshot's test
    split, the explicit test files (which new data never enters), or, for a snapshot of files,
    the test examples of the files it holds unchanged (see the module docstring)."""
    if data.dataset.test is not None:
        return set(data.dataset.test.examples)
    if registry.store.get_snapshot(judged.snapshot_id).kind == "files":
        theirs = {f.path: f.sha256 for f in registry.get_snapshot_files(judged.snapshot_id)}
        return {
            e.hash for e in data.test if _unchanged(data, theirs, data.file_of.get(e.source or ""))
        }
    splits = project.config.splits
    return {
        e.hash
        for e in registry.get_snapshot_examples(judged.snapshot_id)
        if split_of(e.text, splits) == "test"
    }


def _unchanged(data: GateData, theirs: Mapping[str, str], path: str | None) -> bool:
    """Whether the data file ``path`` (a manifest path) is in a version's snapshot files
    ``theirs`` (path -> sha256) unchanged."""
    return path is not None and path in theirs and theirs[path] == data.files.get(path)


def trained_examples(
    registry: Registry, data: GateData, version: ModelVersion
) -> Iterator[Example]:
    """The training examples of the current data that ``version`` trained on too: those of its
    snapshot of examples, or, for a snapshot of files, the training rows of the files it holds
    unchanged (streamed from them, one chunk at a time)."""
    source = data.source
    files = registry.store.get_snapshot(version.snapshot_id).kind == "files"
    if source is None or not files:
        seen = {e.hash for e in registry.get_snapshot_examples(version.snapshot_id)}
        train = data.dataset.splits.train if source is None else source.train_examples()
        return (e for e in train if e.hash in seen)
    theirs = {f.path: f.sha256 for f in registry.get_snapshot_files(version.snapshot_id)}
    unchanged = [path for path in source.files if _unchanged(data, theirs, source.name(path))]
    subset = StreamSource(
        unchanged,
        source.columns,
        source.splits,
        held_out=source.held_out,
        explicit_test=source.explicit_test,
        root=source.root,
    )
    return subset.train_examples()
