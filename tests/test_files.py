"""The one reader of input files (simulation/files.py): each kind of path that is not a
readable TOML file is refused with one line naming the path and what it is, before anything
is parsed, and nothing blocks (a FIFO) or runs for ever (a device)."""

import os
from pathlib import Path

import pytest

from simulation import config
from simulation.files import UnreadableFile, read_regular_file, read_toml


def refusal(path: Path, what: str = "sweep spec", **kw) -> str:
    with pytest.raises(UnreadableFile) as info:
        read_toml(path, what, **kw)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{path}: "), msg
    return msg


def test_a_good_file_is_read(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('name = "x"\n[set]\n"a.b" = 1\n')
    assert read_toml(good, "sweep spec") == {"name": "x", "set": {"a.b": 1}}
    link = tmp_path / "link.toml"
    link.symlink_to(good)  # a link to a regular file is followed
    assert read_toml(link, "sweep spec") == {"name": "x", "set": {"a.b": 1}}


def test_each_kind_of_bad_path_says_what_it_is(tmp_path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)  # opening it blocking would wait for a writer
    assert "is a named pipe (FIFO), not a regular file; give a scenario file" in refusal(
        fifo, "scenario"
    )
    assert "is a folder, not a regular file" in refusal(tmp_path)
    assert "is a character device" in refusal(Path("/dev/zero"))  # never read: it never ends
    # (a link loop and a link to nothing, through load_spec: tests/test_sweep_spec.py)
    dangling = tmp_path / "dangling.toml"
    dangling.symlink_to(tmp_path / "nowhere.toml")
    assert f"is a symbolic link to nothing ({tmp_path / 'nowhere.toml'})" in refusal(dangling)
    assert refusal(tmp_path / "absent.toml").endswith("no such sweep spec file")
    assert refusal(tmp_path / "absent.toml", missing="not here").endswith(": not here")
    through_a_file = tmp_path / "good.toml" / "x.toml"
    (tmp_path / "good.toml").write_text("")
    assert "cannot be read (Not a directory)" in refusal(through_a_file)


def test_non_utf8_and_syntax_errors(tmp_path):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00name")
    assert "is not UTF-8 text" in refusal(binary)
    bad = tmp_path / "bad.toml"
    bad.write_text('a = 1\nb = "open\n')
    with pytest.raises(UnreadableFile) as info:
        read_toml(bad, "scenario")
    assert info.value.key == "(syntax)"
    assert "not valid TOML" in str(info.value) and "line 2" in str(info.value)


def test_the_size_limit(tmp_path):
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * 98 + b"\n")  # 101 bytes
    assert "is 101 bytes or more; a sweep spec file is at most 100" in refusal(big, max_bytes=100)
    assert read_regular_file(big, "sweep spec", max_bytes=101) == big.read_bytes()


def test_config_turns_a_refusal_into_its_one_line_error(tmp_path):
    """config.read_toml: the same fields as a ConfigError; a missing scenario lists the
    named ones."""
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(config.ConfigError) as info:
        config.read_toml(tmp_path / "dir.toml")
    assert info.value.key == "(file)" and "is a folder" in str(info.value)
    with pytest.raises(config.ConfigError, match=r"named scenarios: .*default"):
        config.read_toml(tmp_path / "absent.toml")
    with pytest.raises(config.ConfigError, match=r"no such sweep spec file$"):
        config.read_toml(tmp_path / "absent.toml", "sweep spec")
