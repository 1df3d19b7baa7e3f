"""Regenerate the scenario-parameter table of docs/MODEL.md from the configuration schema.

The table is built from the dataclass fields of ``simulation/config.py`` (default, allowed
range and meaning all live in each field's metadata), so it cannot drift from the code. In
docs/MODEL.md it sits between the two marker lines ``<!-- BEGIN GENERATED: params -->`` and
``<!-- END GENERATED: params -->``; everything outside the markers is written by hand.

Usage, from the project root::

    python docs/gen_params.py            # rewrite the generated section of docs/MODEL.md
    python docs/gen_params.py --stdout   # print the table only (nothing is written)
    python docs/gen_params.py --check    # exit 1 if the section is stale, or if a parameter
                                         # is never mentioned in the hand-written text
"""

import argparse
import dataclasses
import re
import sys
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulation import config  # noqa: E402
from simulation.distribution import POLICIES  # noqa: E402
from simulation.strategies import STRATEGIES  # noqa: E402

MODEL_MD = ROOT / "docs" / "MODEL.md"
BEGIN = "<!-- BEGIN GENERATED: params -->"
END = "<!-- END GENERATED: params -->"


def sections() -> list[tuple[str, type]]:
    """(TOML table, dataclass) in the order the table lists them; "" is the top level.

    Derived from the fields of :class:`~simulation.config.Scenario`, so a section added to
    the schema appears in the table without touching this script.
    """
    out: list[tuple[str, type]] = [("", config.Scenario)]
    hints = typing.get_type_hints(config.Scenario)
    for f in dataclasses.fields(config.Scenario):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            out.append((f.name, tp))
            sub_hints = typing.get_type_hints(tp)
            for g in dataclasses.fields(tp):  # named tables inside a section (calendar events)
                if typing.get_origin(sub_hints[g.name]) is dict:
                    out.append(
                        (f"{f.name}.{g.name}.<event>", typing.get_args(sub_hints[g.name])[1])
                    )
        elif typing.get_origin(tp) is dict:
            group = typing.get_args(tp)[1]
            out.append((f"{f.name}.<group>", group))
            for g in dataclasses.fields(group):
                sub = [
                    a
                    for a in typing.get_args(typing.get_type_hints(group)[g.name])
                    if dataclasses.is_dataclass(a)
                ]
                if sub:
                    out.append((f"{f.name}.<group>.{g.name}", sub[0]))
    return out


# String keys whose allowed values are a registry checked in config._check_cross.
REGISTRIES = {"policy": sorted(POLICIES), "strategy": list(STRATEGIES)}


def _num(x: typing.Any) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    return f"{x:g}"


def _interval(meta: dict) -> str:
    lo, hi, lo_open = meta.get("lo"), meta.get("hi"), meta.get("lo_open")
    if lo is None and hi is None:
        return "any"
    left = "(" if lo_open or lo is None else "["
    lo_s = "−∞" if lo is None else _num(lo)
    hi_s = "∞)" if hi is None else f"{_num(hi)}]"
    return f"{left}{lo_s}, {hi_s}"


def _default(value: typing.Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        if len(value) == 2 and value[0] == value[1]:
            return _num(value[0])
        return "[" + ", ".join(_num(v) for v in value) + "]"
    return _num(value)


def _allowed(name: str, tp: typing.Any, meta: dict) -> str:
    origin = typing.get_origin(tp)
    if tp is bool:
        return "true or false"
    if tp is str:
        if meta.get("choices"):
            return "one of " + ", ".join(meta["choices"])
        if name in REGISTRIES:
            return "one of " + ", ".join(REGISTRIES[name])
        return "text"
    if tp is int:
        return f"integer in {_interval(meta)}"
    if tp is float:
        return f"number in {_interval(meta)}"
    if origin is tuple and typing.get_args(tp)[0] is str:
        if meta.get("choices"):
            return "list of: " + ", ".join(meta["choices"])
        if name == "extra":  # metrics.extra: importable classes
            return "list of strings 'package.module:Name'"
        return "list of strings"
    if origin is tuple:
        args = typing.get_args(tp)
        kind = "integers" if args[0] is int else "numbers"
        if len(args) == 2 and args[1] is not Ellipsis:
            return f"number or [low, high], each in {_interval(meta)}"
        n = meta.get("length")
        count = f"{n} " if n else ""
        return f"list of {count}{kind}, each in {_interval(meta)}"
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return "a table (the keys below), or absent for no ad budget"
    raise TypeError(f"no rule for {name}: {tp!r}")  # pragma: no cover - schema changed


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rows() -> list[tuple[str, str, str, str, str]]:
    """(section, key, default, allowed, meaning) for every scenario parameter."""
    out = []
    for section, cls in sections():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            tp = hints[f.name]
            if dataclasses.is_dataclass(tp) or typing.get_origin(tp) is dict:
                continue  # a section of its own
            if f.default is not dataclasses.MISSING:
                default = f.default
            else:  # pragma: no cover - every scalar field has a plain default today
                default = f.default_factory()
            meta = dict(f.metadata)
            out.append(
                (
                    section or "(top level)",
                    f.name,
                    _default(default),
                    _allowed(f.name, tp, meta),
                    meta.get("doc", ""),
                )
            )
    return out


def table() -> str:
    lines = [
        BEGIN,
        "<!-- Generated by docs/gen_params.py from simulation/config.py; do not edit by hand. -->",
        "",
        "| section | key | default | allowed | meaning |",
        "|---|---|---|---|---|",
    ]
    for section, key, default, allowed, doc in rows():
        where = section if section.startswith("(") else f"`{section}`"
        lines.append(f"| {where} | `{key}` | {_cell(default)} | {_cell(allowed)} | {_cell(doc)} |")
    lines.append("")
    lines.append(END)
    return "\n".join(lines)


def _split(text: str) -> tuple[str, str, str]:
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{MODEL_MD}: markers {BEGIN!r} / {END!r} not found")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head, BEGIN + rest.split(END, 1)[0] + END, tail


def unmentioned(text: str) -> list[str]:
    """Parameters never named (as `key` or `section.key`) outside the generated table."""
    head, _, tail = _split(text)
    prose = head + tail
    named = set(re.findall(r"`([A-Za-z_.<>]+)`", prose))
    leaves = {n.rsplit(".", 1)[-1] for n in named}
    return [f"{s}.{k}" for s, k, *_ in rows() if k not in leaves]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--stdout", action="store_true", help="print the table; write nothing")
    g.add_argument("--check", action="store_true", help="fail if MODEL.md is out of date")
    args = p.parse_args(argv)
    new = table()
    if args.stdout:
        print(new)
        return 0
    text = MODEL_MD.read_text(encoding="utf-8")
    head, old, tail = _split(text)
    if args.check:
        ok = True
        if old != new:
            print(f"{MODEL_MD}: parameter table is stale; run python docs/gen_params.py")
            ok = False
        missing = unmentioned(text)
        if missing:
            print(f"{MODEL_MD}: parameters not discussed in the text: {', '.join(missing)}")
            ok = False
        return 0 if ok else 1
    if old != new:
        MODEL_MD.write_text(head + new + tail, encoding="utf-8")
        print(f"rewrote the parameter table in {MODEL_MD} ({len(rows())} parameters)")
    else:
        print(f"{MODEL_MD}: parameter table already up to date ({len(rows())} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
