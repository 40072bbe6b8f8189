"""The start-up check's revision graph, read from the migration files without Alembic, against
what Alembic itself says: the heads, and what a set of current heads stands on. Anything plain
reading cannot settle is left to Alembic (`read` answers None)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from app.infrastructure.database import migrations
from app.infrastructure.database.migrations import _RevisionGraph
from tests.throwaway_feature.feature import MIGRATIONS as NOTE_MIGRATIONS


def assert_same_as_alembic(feature_locations: tuple[Path, ...] = ()) -> _RevisionGraph:
    read = _RevisionGraph.read(feature_locations)
    assert read is not None, "read without Alembic"
    alembic = _RevisionGraph.from_alembic("sqlite://", feature_locations)
    assert read.heads == alembic.heads
    revisions = sorted(read.stands_on)
    for current in [
        *([revision] for revision in revisions),
        *(list(pair) for pair in itertools.combinations(sorted(read.heads), 2)),
        sorted(read.heads),
        [],
    ]:
        assert read.applied(current) == alembic.applied(current), current
    return read


def test_the_main_tree_and_a_feature_branch_read_as_alembic_reads_them() -> None:
    main = assert_same_as_alembic()
    assert len(main.heads) == 1
    with_notes = assert_same_as_alembic((NOTE_MIGRATIONS,))
    assert with_notes.heads == main.heads | {"n001"}
    assert "0004" in with_notes.applied({"n001"})  # its dependency on the main tree


def write(folder: Path, name: str, declarations: str, body: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(f"{declarations}\n{body}\n")


def revision(
    folder: Path, rev: str, down: object = None, *, labels: object = None, depends: object = None
) -> None:
    write(
        folder,
        f"r_{rev}",
        f"revision = {rev!r}\ndown_revision = {down!r}\n"
        f"branch_labels = {labels!r}\ndepends_on = {depends!r}",
        "def upgrade() -> None:\n    pass\n",
    )


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty migration tree of its own: its version folder."""
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", tmp_path / "alembic")
    versions = tmp_path / "alembic" / "versions"
    versions.mkdir(parents=True)
    return versions


def test_branches_merges_labels_and_dependencies_read_as_alembic_reads_them(
    tree: Path, tmp_path: Path
) -> None:
    revision(tree, "a")
    revision(tree, "b", "a")
    revision(tree, "c1", "b")  # a branch point at b
    revision(tree, "c2", "b")
    revision(tree, "d", ("c1", "c2"))  # merged again
    revision(tree, "e1", "d")
    revision(tree, "e2", "d", labels="side")  # an unmerged branch: two heads
    revision(tree, "f2", "e2")
    revision(tree, "x", None, depends="c1")  # a second root that depends on the main tree
    revision(tree, "y", "x", depends=["side"])  # a dependency named by a branch label
    feature = tmp_path / "feature"
    revision(feature, "n1", None, labels=("notes",), depends="e1")
    revision(feature, "n2", "n1", depends=("f2", "b"))
    revision(feature, "n3", "n1")

    read = assert_same_as_alembic((feature,))
    assert read.heads == {"e1", "f2", "y", "n2", "n3"}
    assert assert_same_as_alembic().heads == {"e1", "f2", "y"}


def test_an_empty_tree_has_no_heads(tree: Path) -> None:
    assert assert_same_as_alembic().heads == frozenset()


@pytest.mark.parametrize(
    ("declarations", "body"),
    [
        ('revision = "b" + ""\ndown_revision = "a"', ""),  # not a literal
        ('revision = "b"\ndown_revision = "a"', 'revision = "c"'),  # assigned twice
        ('revision = "b"\ndown_revision = "a"', "def upgrade():\n    revision = 1"),
        ('revision = "b"\ndown_revision = "a"', "from somewhere import *"),
        ('revision = "b"\ndown_revision = "a"', "import revision"),
        ('revision = "b"\ndown_revision = "a"\ndepends_on = {"a"}', ""),  # not Alembic's to_tuple
        ('down_revision = "a"', ""),  # Alembic's legacy id from the file name
        ('revision = "b"', ""),  # no down_revision
        ('revision = "b-1"\ndown_revision = "a"', ""),  # a character Alembic refuses
        ('revision = "a"\ndown_revision = None', ""),  # a duplicate id
        ('revision = "b"\ndown_revision = "gone"', ""),  # an unknown revision
        ('revision = "b"\ndown_revision = "a"\nbranch_labels = "a"', ""),  # a label that is an id
        ('revision = "b"\ndown_revision = "c"', ""),  # a cycle (with c below)
    ],
)
def test_what_plain_reading_cannot_settle_is_left_to_alembic(
    tree: Path, declarations: str, body: str
) -> None:
    revision(tree, "a")
    revision(tree, "c", "b")
    write(tree, "r_b", declarations, body)
    assert _RevisionGraph.read(()) is None


def test_files_alembic_does_not_load_are_not_read(tree: Path) -> None:
    revision(tree, "a")
    write(tree, "__init__", 'revision = "i"\ndown_revision = "a"')
    write(tree / "nested", "r_n", 'revision = "n"\ndown_revision = "a"')  # not recursive
    (tree / "notes.txt").write_text('revision = "t"')
    assert assert_same_as_alembic().heads == {"a"}


def test_the_version_table_reads_as_alembic_reads_it() -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        assert migrations.current_heads(connection) == ()
        assert MigrationContext.configure(connection).get_current_heads() == ()
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        assert migrations.current_heads(connection) == ()
        connection.execute(text("INSERT INTO alembic_version VALUES ('0010'), ('n001')"))
        assert sorted(migrations.current_heads(connection)) == ["0010", "n001"]
        assert sorted(MigrationContext.configure(connection).get_current_heads()) == [
            "0010",
            "n001",
        ]
    engine.dispose()
