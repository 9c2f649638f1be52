import numpy as np
import pytest

from dystress.atomic import remove_leftovers, replacing, write_text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "metrics.csv"
    write_text(target, "old\n")
    with pytest.raises(RuntimeError):
        with replacing(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv"]


def test_the_temporary_keeps_the_suffix_so_numpy_writes_where_it_is_told(tmp_path):
    target = tmp_path / "bundle.npz"
    with replacing(target) as tmp:
        assert tmp.suffix == ".npz" and tmp.parent == tmp_path and tmp.name.startswith(".")
        np.savez(tmp, x=np.arange(3))
    with np.load(target) as archive:
        assert archive["x"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.npz"]


def test_every_write_has_its_own_temporary_name_and_leftovers_can_be_removed(tmp_path):
    target = tmp_path / "metrics.csv"
    with replacing(target) as first, replacing(target) as second:
        assert first != second
        first.write_text("one")
        second.write_text("two")
    assert target.read_text() in ("one", "two")
    leftover = tmp_path / f".checkpoint.tmp-{12345}-deadbeef.pt"
    leftover.write_bytes(b"half")
    assert remove_leftovers(tmp_path) == [leftover]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv"]
