"""The project's data as the loop, the gate and compress need it: in memory, or by file.

For data held in memory this is the whole :class:`~lifelong.data.Dataset`. A streamed project
(``training.stream``) is never read whole: one bounded pass keeps its files' hashes, its
intents, the stream's valid and test samples and, for ingestion, the data's examples whose
texts a new batch brings (to recognise repeats and relabels), read through
:meth:`~lifelong.data.stream.StreamSource.kept`: with reviewed relabels and duplicates applied,
as the scan and training see them (and as the in-memory pool holds them).

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

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lifelong.core.hashing import sha256_file
from lifelong.core.types import Example, FileManifest
from lifelong.data import Dataset, Snapshot, load_dataset, split_of
from lifelong.data.dataset import read_checked
from lifelong.data.split import SplitData
from lifelong.data.stream import StreamSource, project_source, streams
from lifelong.project import Project
from lifelong.registry import ModelVersion, Registry


@dataclass(frozen=True)
class DataView:
    """The project's data as the loop, the gate and compress read it.

    ``dataset`` holds the test split (and valid, trusted, explicit test files; for a streamed
    project its pool holds only the examples looked up by text). ``intents`` are every intent
    of the data. For a streamed project, ``source`` is its stream, ``manifests`` its files'
    and ``file_of`` maps an example's ``source`` to its manifest path; ``None`` and empty for
    data held in memory.
    """

    dataset: Dataset
    source: StreamSource | None = None
    manifests: tuple[FileManifest, ...] = ()
    file_of: Mapping[str, str] = field(default_factory=dict)
    intents: frozenset[str] = frozenset()

    @cached_property
    def files(self) -> dict[str, str]:
        """Each data file's manifest path -> sha256 (streamed projects)."""
        return {f.path: f.sha256 for f in self.manifests}

    @property
    def test(self) -> list[Example]:
        return list(self.dataset.splits.test)


def data_view(project: Project, texts: Collection[str] = ()) -> DataView:
    """The project's data: read whole, or, for a streamed project, one bounded pass (every
    row checked) keeping the valid and test samples, the file hashes and the intents, and a
    second one, when ``texts`` (normalized) are given, for the examples that have them: the
    view's ``dataset.pool`` (for data in memory, the whole pool)."""
    if not streams(project):
        dataset = load_dataset(project)
        return DataView(dataset, intents=frozenset(dataset.pool.label_counts))
    source, test_files = project_source(project)
    scan = source.scan()
    _, trusted = read_checked(project.trusted_paths, project)
    test = test_files.sorted_examples() if test_files is not None else scan.test
    wanted = set(texts)
    matching = [e for e in source.kept() if e.text in wanted] if wanted else []
    dataset = Dataset(
        pool=Snapshot.of(matching),
        test=test_files,
        splits=SplitData((), tuple(scan.valid), tuple(test)),
        trusted=trusted,
    )
    return DataView(
        dataset,
        source,
        manifests=tuple(scan.files),
        file_of={str(path): source.name(path) for path in source.files},
        intents=frozenset(label for f in scan.files for label in f.labels),
    )


def judged_test_hashes(
    registry: Registry, project: Project, data: DataView, judged: ModelVersion
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


def _unchanged(data: DataView, theirs: Mapping[str, str], path: str | None) -> bool:
    """Whether the data file ``path`` (a manifest path) is in a version's snapshot files
    ``theirs`` (path -> sha256) unchanged."""
    return path is not None and path in theirs and theirs[path] == data.files.get(path)


def trained_examples(
    registry: Registry, data: DataView, version: ModelVersion
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
    return with_files(source, unchanged).train_examples()


def manifests_now(project: Project, view: DataView) -> list[FileManifest]:
    """A streamed project's manifests after ingestion wrote its file: the view's own for the
    files whose sha256 is unchanged (hashing a file is cheap, reading its rows is not), and one
    pass over the others (the new file, or a file edited meanwhile) that checks their rows."""
    source, _ = project_source(project)
    if view.source is not None:  # its relabels (found by its scan) apply to the files read
        source = with_files(view.source, source.files)
    known = {f.path: f for f in view.manifests}
    manifests: dict[str, FileManifest] = {}
    read: list[Path] = []
    for path in source.files:
        manifest = known.get(source.name(path))
        if manifest is not None and manifest.sha256 == sha256_file(path):
            manifests[manifest.path] = manifest
        else:
            read.append(path)
    manifests.update((m.path, m) for m in with_files(source, read).scan().files)
    return [manifests[source.name(path)] for path in source.files]


def with_files(source: StreamSource, paths: list[Path]) -> StreamSource:
    """``source`` over other files (some of its own, or more): the same columns, splits,
    held-out texts and reviewed relabels (a relabel in a file left out still applies)."""
    return StreamSource(
        paths,
        source.columns,
        source.splits,
        held_out=source.held_out,
        explicit_test=source.explicit_test,
        root=source.root,
        allow_conflicts=source.allow_conflicts,
        key_rows=source.key_rows,
        relabels=source.relabels,
    )
