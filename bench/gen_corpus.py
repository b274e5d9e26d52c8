#!/usr/bin/env python3
"""Generate a large synthetic Rust + Python monorepo for benchmarking `tollgate collect`.

The tree looks like Dynamo (seeds 003/004): Python tests under `components/<name>/tests/` and
`tests/<area>/`, Rust crates under `lib/<crate>/` with unit tests beside the code and integration
tests in `tests/*.rs`. Every Python test is marked from the seeds' taxonomy, through every mark
source pytest knows (decorators, class decorators and `pytestmark`, module `pytestmark`,
aliases, `pytest.param(marks=...)`, inheritance), and parametrized with literal values only, so
a static collector can in principle agree 100% with `pytest --collect-only`.

The generator models what it writes: besides the tree it writes `corpus_manifest.json` with
every Python node id and its expected marker names (what `item.iter_markers()` yields), every
Rust test with its facts, and the pattern tags that produced each item. The benchmark uses the
tags to group disagreements by cause.

Stdlib only; the output is a pure function of the arguments (`--seed` included).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST_NAME = "corpus_manifest.json"

# --------------------------------------------------------------------------------------------
# Taxonomy (seeds 003 + 004). Aliases (`premerge`, `gpus_needed_N`) are used on purpose, rarely:
# real suites carry them and the linter must report them.
# --------------------------------------------------------------------------------------------

LIFECYCLE = ["pre_commit", "pre_merge", "post_merge", "nightly", "weekly", "release"]
TEST_TYPE = ["unit", "integration", "e2e", "benchmark", "stress", "smoke", "performance",
             "scalability", "distributed", "flaky", "security", "conformance"]
HARDWARE = ["gpu_0", "gpu_1", "gpu_2", "gpu_4", "gpu_8", "h100", "gb200", "a100", "l40"]
FRAMEWORK = ["vllm", "trtllm", "sglang", "custom_backend"]
COMPONENT = ["kv_cache", "kvbm", "planner", "router", "api", "config", "logging", "security",
             "data_plane", "control_plane"]
ALIASES = ["premerge", "gpus_needed_0", "gpus_needed_1", "gpus_needed_2"]
OTHER = ["slow", "timeout", "gpus", "model", "requires_etcd", "requires_nats", "k8s"]

# Lint realism. A real suite is mostly marked consistently: one type, one hardware marker and
# at most one framework per test, matching where the test lives. The generator draws marks at
# random (its job is to exercise every mark source), so `PyFileWriter.fit` maps each drawn
# exclusive marker to its file's profile, except for MISTAKE_RATE of the draws (and
# ALIAS_KEEP_RATE of the aliases), which stay as drawn: the minority `tollgate lint` reports.
# `fit` draws from its own per-file generator, so the main stream (the tree's shape, the ids)
# does not depend on it.
MISTAKE_RATE = 0.004
ALIAS_KEEP_RATE = 0.05
# Share of the generator's bare `#[ignore]`s kept bare (the rest get a reason).
BARE_IGNORE_RATE = 0.1
EXCLUSIVE_TYPES = {"unit", "integration", "e2e", "benchmark", "stress", "performance"}
GPU_TYPES = {"h100", "gb200", "a100", "l40"}
ALIAS_OF = {"premerge": "pre_merge", "gpus_needed_0": "gpu_0", "gpus_needed_1": "gpu_1",
            "gpus_needed_2": "gpu_2"}

MARKER_HELP = {
    "pre_commit": "runs in the pre-commit pipeline",
    "pre_merge": "runs before merging (PR pipeline)",
    "post_merge": "runs after merging (push to a gated branch)",
    "nightly": "runs nightly",
    "weekly": "runs weekly",
    "release": "runs in the release pipeline",
    "premerge": "alias of pre_merge (deprecated spelling)",
    "gpus_needed_0": "alias of gpu_0",
    "gpus_needed_1": "alias of gpu_1",
    "gpus_needed_2": "alias of gpu_2",
    "timeout": "per-test timeout in seconds",
    "gpus": "number of GPUs: gpus(count=N)",
    "model": "model the test serves",
    "requires_etcd": "needs an etcd server",
    "requires_nats": "needs a NATS server",
}

ALL_CUSTOM_MARKERS = LIFECYCLE + TEST_TYPE + HARDWARE + FRAMEWORK + [
    c for c in COMPONENT if c not in TEST_TYPE] + ALIASES + OTHER

MODELS = ["Qwen/Qwen3-0.6B", "meta-llama/Llama-3.1-8B-Instruct", "deepseek-ai/DeepSeek-R1",
          "mistralai/Mistral-7B-v0.3", "google/gemma-3-1b-it", "TinyLlama-1.1B"]
WORDS = ["basic", "streaming", "disagg", "routing", "migration", "metrics", "health", "config",
         "prefill", "decode", "cancel", "batching", "sampling", "lora", "tokenizer", "chat",
         "completions", "embeddings", "scaling", "failover", "restart", "eviction", "offload",
         "transfer", "discovery", "lease", "watch", "publish", "subscribe", "timeout"]
ARGNAME_PAIRS = [("batch_size", "seq_len"), ("tp", "pp"), ("prompt_len", "max_tokens"),
                 ("block_size", "num_blocks"), ("workers", "replicas")]
FIXTURES = ["runtime", "request_payload", "model_dir", "etcd_server", "nats_server"]

# Python areas: (directory, component word for file names, default type, kind of area).
COMPONENT_AREAS = [
    ("components/planner/tests", "planner", "unit"),
    ("components/router/tests", "router", "unit"),
    ("components/frontend/tests", "frontend", "unit"),
    ("components/kvbm/tests", "kvbm", "integration"),
    ("components/metrics/tests", "metrics", "unit"),
    ("components/backends/vllm/tests", "vllm", "integration"),
    ("components/backends/trtllm/tests", "trtllm", "integration"),
    ("components/backends/sglang/tests", "sglang", "integration"),
]
E2E_AREAS = [
    ("tests/serve", "serve", "e2e"),
    ("tests/kvbm", "kvbm", "e2e"),
    ("tests/router", "router", "e2e"),
    ("tests/planner", "planner", "e2e"),
    ("tests/frontend", "frontend", "e2e"),
    ("tests/benchmark", "benchmark", "benchmark"),
    ("tests/fault_tolerance", "fault", "stress"),
    ("tests/security", "security", "security"),
    ("tests/multimodal", "multimodal", "e2e"),
]
# Components whose tests are packages (`__init__.py` up to `components/<name>/`); all others
# rely on unique basenames, which pytest's default `prepend` import mode requires.
PACKAGE_COMPONENTS = {"planner", "kvbm", "vllm"}
# Areas under tests/ that are packages (tests/__init__.py exists too).
PACKAGE_E2E = {"tests/serve", "tests/router", "tests/benchmark"}
FILES_PER_SUBDIR = 24


# --------------------------------------------------------------------------------------------
# Python model
# --------------------------------------------------------------------------------------------

@dataclass
class PyItem:
    """One collected pytest item as the generator expects it."""

    nodeid: str
    markers: set[str]
    tags: set[str]


# (node-id suffix after the module, marker names, pattern tags) of one expected item.
RawItem = tuple[str, set[str], set[str]]


@dataclass
class Param:
    """One parametrize decorator: its source text and the cases it expands to."""

    source: str
    # (id, marker names added by pytest.param(marks=...)) per case, in order.
    cases: list[tuple[str, set[str]]]
    tags: set[str]


def param_id(value, argname: str, index: int) -> str:
    """pytest's value-derived id for the literal values this generator emits."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    return f"{argname}{index}"


def dedupe_ids(ids: list[str]) -> list[str]:
    """pytest 9's suffixes for repeated ids within one parametrize (`x0`, `x1`; `1_0`, `1_1`)."""
    counts = Counter(ids)
    if all(c == 1 for c in counts.values()):
        return ids
    taken = set(ids)
    next_suffix: dict[str, int] = defaultdict(int)
    out = []
    for i in ids:
        if counts[i] == 1:
            out.append(i)
            continue
        sep = "_" if i and i[-1].isdigit() else ""
        new = f"{i}{sep}{next_suffix[i]}"
        while new in taken:
            next_suffix[i] += 1
            new = f"{i}{sep}{next_suffix[i]}"
        out.append(new)
        next_suffix[i] += 1
    return out


def py_literal(value) -> str:
    if isinstance(value, tuple):
        inner = ", ".join(py_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


class PyFileWriter:
    """Writes one test module and records the items pytest will collect from it."""

    def __init__(self, rng: random.Random, relpath: str, area_type: str, comp: str):
        self.rng = rng
        self.relpath = relpath
        self.area_type = area_type
        self.comp = comp
        self.items: list[PyItem] = []
        self.used_markers: set[str] = set()
        self.names: set[str] = set()
        style = rng.random()
        # `m` is how marks are spelled in this module.
        if style < 0.12:
            self.m = "mark"
            self.import_style = "from-pytest-import-mark"
        elif style < 0.18:
            self.m = "pt.mark"
            self.import_style = "import-pytest-as"
        else:
            self.m = "pytest.mark"
            self.import_style = "import-pytest"
        self.pytest = "pt" if self.import_style == "import-pytest-as" else "pytest"
        self.aliases: dict[str, list[str]] = {}  # alias variable -> marker names
        self.constants: dict[str, list] = {}
        self.module_marks: set[str] = set()
        self.module_tags: set[str] = set()
        self.last_alias_used = False
        # The file's marking profile (see MISTAKE_RATE), from its own generator.
        self.lint_rng = random.Random(f"lint:{relpath}")
        self.file_type = "e2e" if area_type not in EXCLUSIVE_TYPES else area_type
        self.hardware = "gpu_0" if self.file_type == "unit" else self.lint_rng.choice(
            ["gpu_0"] * 6 + ["gpu_1"] * 2 + ["gpu_2", "gpu_8"])
        self.framework = comp if comp in FRAMEWORK else self.lint_rng.choice(FRAMEWORK[:3])

    def fit(self, name: str) -> str:
        """`name` as a consistently marked suite would write it (see MISTAKE_RATE).

        Only swaps plain marker names for plain ones, so the source and the main random
        stream are the same whichever name comes out."""
        if name in ALIAS_OF:
            if self.lint_rng.random() < ALIAS_KEEP_RATE:
                return name
            name = ALIAS_OF[name]
        if self.lint_rng.random() < MISTAKE_RATE:
            return name
        if name in EXCLUSIVE_TYPES:
            return self.file_type
        if name in HARDWARE:
            return self.hardware
        if name in FRAMEWORK:
            return self.framework
        if name == "k8s":
            return "requires_etcd"
        return name

    # -- helpers ---------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        name = base
        n = 2
        while name in self.names:
            name = f"{base}_{n}"
            n += 1
        self.names.add(name)
        return name

    def mark_src(self, name: str) -> str:
        """Source of a mark expression (with arguments for the markers that take some)."""
        rng = self.rng
        if name == "timeout":
            return f"{self.m}.timeout({rng.choice([30, 60, 120, 300, 900])})"
        if name == "gpus":
            return f"{self.m}.gpus(count={rng.choice([1, 2, 4, 8])})"
        if name == "model":
            return f"{self.m}.model({rng.choice(MODELS)!r})"
        if name == "skip":
            return f"{self.m}.skip(reason=\"not supported on this runner\")"
        if name == "skipif":
            return f"{self.m}.skipif(\"sys.platform == 'win32'\", reason=\"posix only\")"
        if name == "xfail":
            return f"{self.m}.xfail(reason=\"known issue\", strict=False)"
        if name == "usefixtures":
            return f"{self.m}.usefixtures({rng.choice(FIXTURES)!r})"
        if name == "filterwarnings":
            return f"{self.m}.filterwarnings(\"ignore::DeprecationWarning\")"
        return f"{self.m}.{name}"

    def pick_marks(self, k: int, with_builtin: float = 0.1) -> list[str]:
        """A plausible set of marker names for a test or class."""
        rng = self.rng
        pool: list[str] = []
        r = rng.random()
        if r < 0.5:
            pool.append(rng.choice(LIFECYCLE))
        if r > 0.3:
            pool.append(self.fit(self.area_type if rng.random() < 0.7 else rng.choice(TEST_TYPE)))
        if rng.random() < 0.5:
            pool.append(self.fit(rng.choice(HARDWARE[:5]) if rng.random() < 0.9
                                 else rng.choice(HARDWARE)))
        if rng.random() < 0.3:
            pool.append(self.fit(rng.choice(FRAMEWORK)))
        if rng.random() < 0.25:
            pool.append(rng.choice(COMPONENT))
        if rng.random() < 0.03:
            pool.append(self.fit(rng.choice(ALIASES)))
        if rng.random() < 0.15:
            pool.append(self.fit(rng.choice(OTHER)))
        if rng.random() < with_builtin:
            pool.append(rng.choice(["skip", "skipif", "xfail", "usefixtures", "filterwarnings"]))
        seen: list[str] = []
        for p in pool:
            if p not in seen:
                seen.append(p)
        return seen[: max(k, 1)] if k else seen

    def decorators(self, names: list[str], indent: str) -> list[str]:
        out = []
        self.last_alias_used = False
        for n in names:
            if n == "slow" and "slow" in self.aliases and self.rng.random() < 0.8:
                out.append(f"{indent}@slow")
                self.last_alias_used = True
                continue
            out.append(f"{indent}@{self.mark_src(n)}")
        self.used_markers.update(names)
        return out

    def values_pool(self, kind: str, n: int) -> list:
        rng = self.rng
        if kind == "int":
            return rng.sample([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, -1, 0], n)
        if kind == "str":
            return rng.sample(WORDS, n)
        if kind == "model":
            return rng.sample(MODELS, min(n, len(MODELS)))
        if kind == "float":
            return rng.sample([0.0, 0.1, 0.5, 0.7, 0.9, 1.0, 1.5, 2.25], n)
        if kind == "bool":
            return [True, False][:n]
        if kind == "optional":
            return [None] + rng.sample([1, 2, 4, 8, 16], min(n - 1, 5))
        if kind == "tuple":
            return [tuple(rng.sample([1, 2, 4, 8, 16], 2)) for _ in range(n)]
        raise ValueError(kind)

    def make_param(self, argname: str, max_cases: int, allow_param_objects: bool = True,
                   taken: tuple[str, ...] = ()) -> tuple[Param, list[str]]:
        """One `@pytest.mark.parametrize` with literal values, in one of several styles."""
        rng = self.rng
        n = max(2, min(max_cases, rng.choice([2, 2, 3, 3, 4, 5, 6])))
        style = rng.random()
        tags = {"parametrize"}
        pairs = [p for p in ARGNAME_PAIRS if not set(p) & set(taken)]
        if style < 0.14 and pairs:
            # Two argnames, tuples of values.
            kinds = rng.sample(["int", "str", "float"], 2)
            a = self.values_pool(kinds[0], n)
            b = self.values_pool(kinds[1], n)
            names = list(rng.choice(pairs))
            rows = list(zip(a, b, strict=True))
            spelled = rng.choice(["str", "list", "tuple"])
            if spelled == "str":
                argnames_src = repr(",".join(names))
            elif spelled == "list":
                argnames_src = repr(names)
            else:
                argnames_src = repr(tuple(names))
            rows_src = ", ".join(py_literal(r) for r in rows)
            src = f"{self.m}.parametrize({argnames_src}, [{rows_src}])"
            cases = [("-".join(param_id(v, nm, i) for v, nm in zip(r, names, strict=True)), set())
                     for i, r in enumerate(rows)]
            tags.add("multi-argnames")
            return Param(src, cases, tags | {"argnames:" + spelled}), names
        kind = rng.choice(["int", "int", "str", "str", "model", "float", "bool", "optional",
                           "tuple"])
        values = self.values_pool(kind, n)
        tags.add("values:" + kind)
        if kind in ("int", "str") and len(values) >= 3 and rng.random() < 0.05:
            # A repeated value: pytest suffixes the duplicate ids (`a0`, `a1`; `1_0`, `1_1`).
            values[-1] = values[0]
            src = (f"{self.m}.parametrize({argname!r}, "
                   f"[{', '.join(py_literal(v) for v in values)}])")
            ids = dedupe_ids([param_id(v, argname, i) for i, v in enumerate(values)])
            return Param(src, [(i, set()) for i in ids], tags | {"duplicate-ids"}), [argname]
        if style < 0.3 and kind != "bool":
            # A module-level constant list used as argvalues.
            const = self.fresh(argname.upper() + "_CASES")
            self.constants[const] = values
            src = f"{self.m}.parametrize({argname!r}, {const})"
            cases = [(param_id(v, argname, i), set()) for i, v in enumerate(values)]
            return Param(src, cases, tags | {"constant-argvalues"}), [argname]
        if style < 0.45:
            # Explicit ids=[...], with a None entry now and then (value-derived id).
            ids = [f"{argname}-{w}" for w in rng.sample(WORDS, len(values))]
            if len(ids) > 2 and rng.random() < 0.3:
                ids[1] = None
            values_src = ", ".join(py_literal(v) for v in values)
            src = f"{self.m}.parametrize({argname!r}, [{values_src}], ids={ids!r})"
            cases = [((i_ if i_ is not None else param_id(v, argname, i)), set())
                     for i, (v, i_) in enumerate(zip(values, ids, strict=True))]
            return Param(src, cases, tags | {"ids-list"}), [argname]
        if style < 0.62 and allow_param_objects:
            # pytest.param with id= and marks= (marks apply to that case only).
            entries = []
            cases = []
            for i, v in enumerate(values):
                parts = [py_literal(v)]
                case_marks: set[str] = set()
                cid = param_id(v, argname, i)
                r = rng.random()
                if r < 0.4:
                    cid = f"case{i}-{rng.choice(WORDS)}"
                    parts.append(f"id={cid!r}")
                r = rng.random()
                if r < 0.25:
                    m = self.fit(rng.choice(["slow", "nightly", "gpu_2", "xfail", "skip", "h100"]))
                    parts.append(f"marks={self.mark_src(m)}")
                    case_marks.add(m)
                    tags.add("param-marks")
                elif r < 0.4:
                    ms = [self.fit(m) for m in rng.sample(["slow", "weekly", "gpu_4", "trtllm",
                                                             "a100"], 2)]
                    parts.append(f"marks=[{', '.join(self.mark_src(m) for m in ms)}]")
                    case_marks.update(ms)
                    tags.add("param-marks-list")
                elif r < 0.5 and self.aliases:
                    alias = rng.choice(sorted(self.aliases))
                    parts.append(f"marks={alias}")
                    case_marks.update(self.aliases[alias])
                    tags.add("param-marks-alias")
                self.used_markers.update(case_marks)
                entries.append(f"{self.pytest}.param({', '.join(parts)})")
                cases.append((cid, case_marks))
            src = f"{self.m}.parametrize({argname!r}, [{', '.join(entries)}])"
            return Param(src, cases, tags | {"pytest-param"}), [argname]
        src = f"{self.m}.parametrize({argname!r}, [{', '.join(py_literal(v) for v in values)}])"
        cases = [(param_id(v, argname, i), set()) for i, v in enumerate(values)]
        return Param(src, cases, tags), [argname]

    # -- units -----------------------------------------------------------------------------
    def function_unit(self, budget: int, prefix: str, indent: str, owner: str,
                      inherited: tuple[set[str], set[str], list[Param], list[str]] | None = None,
                      ) -> tuple[list[str], list[RawItem], str]:
        """A test function, or a method when `indent` is set.

        Returns (source lines, [(node-id suffix, marker names, tags)], function name).

        `inherited` = (marks, tags, class params, class argnames) from the enclosing classes.
        """
        rng = self.rng
        name = self.fresh(f"test_{prefix}_{rng.choice(WORDS)}")
        marks = self.pick_marks(0)
        lines = []
        tags = {"function"}
        params: list[Param] = []
        argnames: list[str] = []
        cls_argnames = inherited[3] if inherited else []
        if budget >= 2 and rng.random() < 0.45:
            p, names = self.make_param("n" if rng.random() < 0.3 else rng.choice(
                ["batch", "model", "mode", "seq", "temperature", "block"]), budget,
                taken=tuple(cls_argnames))
            params.append(p)
            argnames += names
            left = budget // len(p.cases)
            if left >= 2 and rng.random() < 0.3:
                p2, names2 = self.make_param(self.fresh_argname(argnames), left,
                                             allow_param_objects=False,
                                             taken=tuple(argnames + cls_argnames))
                params.append(p2)
                argnames += names2
                tags.add("stacked-parametrize")
        mark_lines = self.decorators(marks, indent)
        if self.last_alias_used:
            tags.add("alias-decorator")
        if "usefixtures" not in marks and rng.random() < 0.2:
            args_fixture = [rng.choice(FIXTURES)]
        else:
            args_fixture = []
        # Marks above or below the parametrize stack: both appear in real code. Only the
        # relative order of the parametrize decorators changes the ids.
        deco = []
        if rng.random() < 0.5:
            deco += mark_lines + [f"{indent}@{p.source}" for p in params]
        else:
            deco += [f"{indent}@{p.source}" for p in params] + mark_lines
        lines += deco
        all_args = (["self"] if indent else []) + args_fixture + argnames + cls_argnames
        is_async = rng.random() < 0.04
        kw = "async def" if is_async else "def"
        if is_async:
            tags.add("async")
        lines.append(f"{indent}{kw} {name}({', '.join(all_args)}):")
        body_var = argnames[0] if argnames else (args_fixture[0] if args_fixture else None)
        if body_var:
            lines.append(f"{indent}    assert {body_var} == {body_var}")
        else:
            lines.append(f"{indent}    assert {rng.randint(1, 9)} > 0")
        lines.append("")
        # Expand: pytest applies the nearest parametrize first; later ones (and the class's)
        # are joined after it with "-".
        decorator_order = self.param_call_order(params, deco, indent)
        class_params = inherited[2] if inherited else []
        expanded = expand([*decorator_order, *class_params])
        base_marks = set(marks) | (inherited[0] if inherited else set())
        base_tags = tags | (inherited[1] if inherited else set())
        for p in params:
            base_tags |= p.tags
        if params or class_params:
            base_marks.add("parametrize")
        out = []
        for suffix, case_marks in expanded:
            out.append((f"{owner}{name}{suffix}", base_marks | case_marks, base_tags))
        return lines, out, name

    def fresh_argname(self, taken: list[str]) -> str:
        for cand in ["dtype", "port", "stream", "retries", "prompt", "quant", "arch"]:
            if cand not in taken:
                return cand
        return "extra"

    @staticmethod
    def param_call_order(params: list[Param], deco: list[str], indent: str) -> list[Param]:
        """Order in which pytest calls `metafunc.parametrize`: nearest decorator first."""
        positions = {id(p): deco.index(f"{indent}@{p.source}") for p in params}
        return sorted(params, key=lambda p: -positions[id(p)])

    def class_unit(self, budget: int, indent: str = "", owner_chain: str = "",
                   outer: tuple[set[str], set[str]] | None = None, depth: int = 0,
                   ) -> tuple[list[str], list[RawItem]]:
        rng = self.rng
        cname = self.fresh(f"Test{self.comp.capitalize()}{rng.choice(WORDS).capitalize()}")
        lines: list[str] = []
        tags = {"class"} | ({"nested-class"} if depth else set())
        cls_marks: list[str] = []
        if rng.random() < 0.5:
            cls_marks = self.pick_marks(0, with_builtin=0.05)
            lines += self.decorators(cls_marks, indent)
            if self.last_alias_used:
                tags.add("alias-class-decorator")
            if cls_marks:
                tags.add("class-decorator")
        cls_params: list[Param] = []
        cls_argnames: list[str] = []
        if depth == 0 and budget >= 6 and rng.random() < 0.15:
            p, names = self.make_param("variant", 2, allow_param_objects=False)
            lines.append(f"{indent}@{p.source}")
            cls_params.append(p)
            cls_argnames = names
            tags |= {"class-parametrize"} | p.tags
        lines.append(f"{indent}class {cname}:")
        body = indent + "    "
        body_marks: list[str] = []
        if rng.random() < 0.3:
            body_marks = self.pick_marks(2)
            if body_marks:
                if len(body_marks) == 1 and rng.random() < 0.5:
                    lines.append(f"{body}pytestmark = {self.mark_src(body_marks[0])}")
                else:
                    lines.append(
                        f"{body}pytestmark = [{', '.join(self.mark_src(n) for n in body_marks)}]")
                self.used_markers.update(body_marks)
                tags.add("class-pytestmark")
                lines.append("")
        if not body_marks:
            lines.append(f'{body}"""{self.comp} {rng.choice(WORDS)} tests."""')
            lines.append("")
        marks = set(cls_marks) | set(body_marks) | (outer[0] if outer else set())
        ctags = tags | (outer[1] if outer else set())
        owner = f"{owner_chain}{cname}::"
        items: list[RawItem] = []
        n_methods = rng.randint(2, 5)
        per = max(1, budget // (n_methods * max(1, len(cls_params[0].cases) if cls_params else 1)))
        for _ in range(n_methods):
            m_lines, m_items, _ = self.function_unit(
                per, self.comp, body, owner, (marks, ctags, cls_params, cls_argnames))
            lines += m_lines
            items += m_items
        if depth == 0 and not cls_params and rng.random() < 0.15:
            n_lines, n_items = self.class_unit(max(2, budget // 3), body, owner, (marks, ctags),
                                               depth + 1)
            lines += n_lines
            items += n_items
        if not cls_params and rng.random() < 0.08:
            # A static test method: collected like any other (no `self`).
            name = self.fresh(f"test_{self.comp}_{rng.choice(WORDS)}_static")
            smarks = self.pick_marks(1)
            lines.append(f"{body}@staticmethod")
            lines += self.decorators(smarks, body)
            lines += [f"{body}def {name}():", f"{body}    assert True", ""]
            items.append((f"{owner}{name}", marks | set(smarks), ctags | {"staticmethod"}))
        # A helper that is not a test, and a non-test attribute.
        if rng.random() < 0.3:
            lines.append(f"{body}def helper_{rng.choice(WORDS)}(self):")
            lines.append(f"{body}    return {rng.randint(0, 9)}")
            lines.append("")
        return lines, items

    def inheritance_unit(self, budget: int) -> tuple[list[str], list[RawItem]]:
        """A base class (not collected: no `Test` prefix) and subclasses that inherit its tests."""
        rng = self.rng
        base = self.fresh(f"Base{self.comp.capitalize()}{rng.choice(WORDS).capitalize()}Tests")
        lines: list[str] = []
        base_marks: list[str] = []
        if rng.random() < 0.5:
            base_marks = self.pick_marks(2)
            lines += self.decorators(base_marks, "")
        lines.append(f"class {base}:")
        lines.append(f'    """Shared {self.comp} checks; subclasses pick the backend."""')
        lines.append("")
        lines.append("    backend = None")
        lines.append("")
        methods: list[tuple[str, list[str], Param | None]] = []
        for _ in range(rng.randint(2, 4)):
            mname = self.fresh(f"test_{self.comp}_{rng.choice(WORDS)}")
            mm = self.pick_marks(0)
            lines += self.decorators(mm, "    ")
            p = None
            if rng.random() < 0.3:
                p, names = self.make_param("size", 3, allow_param_objects=False)
                lines.append(f"    @{p.source}")
                args = ["self", *names]
            else:
                args = ["self"]
            lines.append(f"    def {mname}({', '.join(args)}):")
            lines.append("        assert self.backend is not None")
            lines.append("")
            methods.append((mname, mm, p))
        items: list[RawItem] = []
        backends = rng.sample(FRAMEWORK[:3], rng.randint(1, 3))
        for be in backends:
            be = self.fit(be)
            sub = self.fresh(f"Test{self.comp.capitalize()}{be.capitalize()}"
                             f"{rng.choice(WORDS).capitalize()}")
            sub_marks = [be] + ([self.fit(rng.choice(HARDWARE[:3]))] if rng.random() < 0.5
                                else [])
            lines += self.decorators(sub_marks, "")
            lines.append(f"class {sub}({base}):")
            lines.append(f"    backend = {be!r}")
            lines.append("")
            cls_set = set(base_marks) | set(sub_marks)
            tags = {"class", "inherited", "class-decorator"}
            if base_marks:
                tags.add("inherited-class-decorator")
            for mname, mm, p in methods:
                ms = cls_set | set(mm)
                if p is not None:
                    for cid, cm in p.cases:
                        items.append((f"{sub}::{mname}[{cid}]", ms | {"parametrize"} | cm,
                                      tags | p.tags))
                else:
                    items.append((f"{sub}::{mname}", ms, tags))
            if rng.random() < 0.4:
                own = self.fresh(f"test_{be}_{rng.choice(WORDS)}")
                om = self.pick_marks(1)
                lines += self.decorators(om, "    ")
                lines.append(f"    def {own}(self):")
                lines.append(f"        assert self.backend == {be!r}")
                lines.append("")
                items.append((f"{sub}::{own}", cls_set | set(om), {"class", "class-decorator"}))
        return lines, items

    def unittest_unit(self) -> tuple[list[str], list[RawItem]]:
        """A `unittest.TestCase`: pytest collects its `test*` methods whatever the class name."""
        rng = self.rng
        word = rng.choice(WORDS).capitalize()
        named_like_pytest = rng.random() < 0.7
        cname = self.fresh(f"Test{self.comp.capitalize()}{word}Case" if named_like_pytest
                           else f"{self.comp.capitalize()}{word}Tests")
        lines: list[str] = []
        tags = {"unittest", "class"} | (set() if named_like_pytest else {"unittest-other-name"})
        cls_marks: list[str] = []
        if rng.random() < 0.4:
            cls_marks = self.pick_marks(2)
            lines += self.decorators(cls_marks, "")
            tags.add("class-decorator")
        lines += [f"class {cname}(unittest.TestCase):", "    def setUp(self):",
                  f"        self.limit = {rng.randint(1, 64)}", ""]
        items: list[RawItem] = []
        for _ in range(rng.randint(2, 4)):
            name = self.fresh(f"test_{self.comp}_{rng.choice(WORDS)}")
            mm = self.pick_marks(1) if rng.random() < 0.4 else []
            lines += self.decorators(mm, "    ")
            lines += [f"    def {name}(self):", "        self.assertGreater(self.limit, 0)", ""]
            items.append((f"{cname}::{name}", set(cls_marks) | set(mm), tags))
        return lines, items

    def init_class_unit(self) -> tuple[list[str], list[RawItem]]:
        """A `Test*` helper class with `__init__`: pytest warns and collects nothing from it."""
        cname = self.fresh(f"Test{self.comp.capitalize()}Harness")
        return [f"class {cname}:", f'    """Drives a {self.comp} deployment (not a test class)."""',
                "", "    def __init__(self, endpoint):", "        self.endpoint = endpoint", "",
                "    def test_endpoint(self):", "        assert self.endpoint", ""], []

    # -- module ----------------------------------------------------------------------------
    def build(self, target_items: int) -> str:
        rng = self.rng
        # Aliases used in this module.
        if rng.random() < 0.35:
            self.aliases["slow"] = ["slow"]
        if rng.random() < 0.25:
            fw = self.fit(rng.choice(FRAMEWORK[:3]))
            hw = self.fit(rng.choice(["gpu_1", "gpu_2"]))
            self.aliases[f"{hw.upper()}_{fw.upper()}"] = [hw, fw]
        # Module pytestmark.
        r = rng.random()
        if r < 0.35:
            self.module_marks = {rng.choice(LIFECYCLE[:4])}
            self.module_tags.add("module-pytestmark-single")
        elif r < 0.75:
            ms = [rng.choice(LIFECYCLE[:4]), self.area_type]
            if rng.random() < 0.6:
                ms.append(self.fit(rng.choice(HARDWARE[:3])))
            if rng.random() < 0.2:
                ms.append(rng.choice(["usefixtures", "filterwarnings", "timeout"]))
            self.module_marks = set(ms)
            self.module_tags.add("module-pytestmark-list")
            self.module_mark_list = ms
        list_aliases = [a for a in self.aliases if a != "slow"]
        if list_aliases and rng.random() < 0.5 and not self.module_marks:
            self.module_marks = set(self.aliases[list_aliases[0]])
            self.module_tags.add("module-pytestmark-alias")
        units: list[list[str]] = []
        raw: list[RawItem] = []
        count = 0
        while count < target_items:
            remaining = target_items - count
            r = rng.random()
            if r < 0.53 or remaining < 4:
                lines, its, _ = self.function_unit(min(remaining, 8), self.comp, "", "")
            elif r < 0.83:
                lines, its = self.class_unit(min(remaining, 16))
            elif r < 0.96:
                lines, its = self.inheritance_unit(remaining)
            elif r < 0.99:
                lines, its = self.unittest_unit()
            else:
                lines, its = self.init_class_unit()
            units.append(lines)
            raw += its
            count += len(its)
        # Now the header (it depends on what the units used).
        head = [f'"""{self.comp.capitalize()} tests: {rng.choice(WORDS)} and '
                f'{rng.choice(WORDS)} flows (generated)."""', ""]
        stdlib = [m for m, used in (("sys", "skipif"), ("unittest", "unittest.TestCase"))
                  if any(used in line for u in units for line in u)]
        if stdlib:
            head += [f"import {m}" for m in stdlib] + [""]
        if self.import_style == "from-pytest-import-mark":
            head += ["import pytest", "from pytest import mark"]
        elif self.import_style == "import-pytest-as":
            head += ["import pytest as pt"]
        else:
            head += ["import pytest"]
        head.append("")
        for alias, names in self.aliases.items():
            if alias == "slow":
                head.append(f"slow = {self.m}.slow")
            else:
                head.append(f"{alias} = [{', '.join(self.mark_src(n) for n in names)}]")
            self.used_markers.update(names)
        if self.aliases:
            head.append("")
        if "module-pytestmark-single" in self.module_tags:
            (only,) = self.module_marks
            head.append(f"pytestmark = {self.mark_src(only)}")
        elif "module-pytestmark-list" in self.module_tags:
            marks_src = ", ".join(self.mark_src(n) for n in self.module_mark_list)
            head.append(f"pytestmark = [{marks_src}]")
        elif "module-pytestmark-alias" in self.module_tags:
            head.append(f"pytestmark = {list_aliases[0]}")
        self.used_markers.update(self.module_marks)
        if self.module_marks:
            head.append("")
        for const, values in self.constants.items():
            head.append(f"{const} = [{', '.join(py_literal(v) for v in values)}]")
        if self.constants:
            head.append("")
        head.append("")
        body: list[str] = []
        for u in units:
            body += u
            body.append("")
        for suffix, marks, tags in raw:
            self.items.append(PyItem(f"{self.relpath}::{suffix}", marks | self.module_marks,
                                     tags | self.module_tags | {"import:" + self.import_style}))
        text = "\n".join(head + body).rstrip() + "\n"
        return text


def expand(params_in_call_order: list[Param]) -> list[tuple[str, set[str]]]:
    """The `[id]` suffixes (and per-case marks) pytest makes from parametrize calls."""
    if not params_in_call_order:
        return [("", set())]
    combos: list[tuple[list[str], set[str]]] = [([], set())]
    for p in params_in_call_order:
        combos = [(ids + [cid], marks | cm) for ids, marks in combos for cid, cm in p.cases]
    return [(f"[{'-'.join(ids)}]", marks) for ids, marks in combos]


CONFTEST = '''"""Fixtures for {where} (generated)."""

import pytest


@pytest.fixture
def runtime():
    return {{"namespace": "{ns}", "lease": 7}}


@pytest.fixture
def request_payload():
    return {{"model": "Qwen/Qwen3-0.6B", "max_tokens": 16}}


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def etcd_server():
    yield "http://127.0.0.1:2379"


@pytest.fixture
def nats_server():
    yield "nats://127.0.0.1:4222"
'''


def python_tree(rng: random.Random, root: Path, n_files: int, items_per_file: int) -> dict:
    areas = COMPONENT_AREAS + E2E_AREAS
    # 40% of the files under components/, 60% under tests/.
    weights = [0.4 / len(COMPONENT_AREAS)] * len(COMPONENT_AREAS) + \
              [0.6 / len(E2E_AREAS)] * len(E2E_AREAS)
    per_area = [max(1, round(n_files * w)) for w in weights]
    per_area[0] += n_files - sum(per_area)
    used_basenames: set[str] = set()
    items: list[PyItem] = []
    used_markers: set[str] = set()
    files: list[str] = []
    init_files: list[str] = []
    conftests: list[str] = []

    def write(rel: str, text: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    write("tests/__init__.py", "")
    init_files.append("tests/__init__.py")
    for (area, comp, area_type), count in zip(areas, per_area, strict=True):
        is_component = area.startswith("components/")
        is_pkg = (comp in PACKAGE_COMPONENTS) if is_component else (area in PACKAGE_E2E)
        if is_pkg:
            if is_component:
                pkg_root = area.rsplit("/", 1)[0]
                write(f"{pkg_root}/__init__.py", "")
                init_files.append(f"{pkg_root}/__init__.py")
            write(f"{area}/__init__.py", "")
            init_files.append(f"{area}/__init__.py")
        write(f"{area}/conftest.py", CONFTEST.format(where=area, ns=comp))
        conftests.append(f"{area}/conftest.py")
        n_sub = max(1, -(-count // FILES_PER_SUBDIR))
        subdirs = [""] if n_sub == 1 else rng.sample(WORDS, min(n_sub, len(WORDS)))
        while len(subdirs) < n_sub:
            subdirs.append(f"group{len(subdirs)}")
        for i in range(count):
            sub = subdirs[i % len(subdirs)]
            d = f"{area}/{sub}" if sub else area
            if sub and is_pkg and not (root / d / "__init__.py").exists():
                write(f"{d}/__init__.py", "")
                init_files.append(f"{d}/__init__.py")
            flow = rng.choice(WORDS)
            base = f"test_{comp}_{flow}"
            name = base
            n = 2
            while name in used_basenames:
                name = f"{base}_{n}"
                n += 1
            used_basenames.add(name)
            rel = f"{d}/{name}.py"
            # Vary module size around the target so the tree is not uniform.
            target = max(1, int(items_per_file * rng.uniform(0.5, 1.5)))
            w = PyFileWriter(rng, rel, area_type, comp)
            write(rel, w.build(target))
            items += w.items
            used_markers |= w.used_markers
            files.append(rel)
    # A module that only has helpers, and a data file: nothing collected from them.
    write("tests/serve/utils_payloads.py", "PAYLOADS = [1, 2, 3]\n")
    write("components/router/tests/data/test_vectors.json", "[]\n")

    builtin = {"skip", "skipif", "xfail", "usefixtures", "filterwarnings", "parametrize"}
    registered = sorted(ALL_CUSTOM_MARKERS)
    missing = sorted(used_markers - builtin - set(registered))
    if missing:
        raise SystemExit(f"generator bug: unregistered markers used: {missing}")
    marker_lines = ",\n".join(
        f'    "{m}: {MARKER_HELP.get(m, "marks " + m.replace("_", " ") + " tests")}"'
        for m in registered)
    write("pyproject.toml", f'''[project]
name = "dynamo-synthetic"
version = "0.0.0"
requires-python = ">=3.10"

[tool.pytest.ini_options]
testpaths = ["components", "tests"]
python_files = ["test_*.py"]
markers = [
{marker_lines},
]
''')
    return {
        "files": files,
        "init_files": init_files,
        "conftests": conftests,
        "items": items,
        "used_markers": sorted(used_markers),
    }


# --------------------------------------------------------------------------------------------
# Rust model
# --------------------------------------------------------------------------------------------

RUST_VERBS = ["works", "fails_cleanly", "roundtrip", "is_stable", "handles_empty",
              "respects_limit"]
ANNOTATION_MARKERS = ["unit", "integration", "gpu_0", "gpu_1", "slow", "kvbm", "router",
                      "nightly", "pre_merge"]
RUST_CRATES = ["runtime", "llm", "kvbm", "kv-router", "tokens", "memory", "parsers", "config",
               "mocker", "engines", "metrics", "transfer", "discovery", "planner-core"]
DEFAULT_FEATURES = ["metrics"]
FEATURES = ["metrics", "integration", "testing-cuda", "testing-etcd"]


@dataclass
class RustTest:
    binary_id: str
    name: str
    file: str
    line: int
    attribute: str
    ignored: str | None
    should_panic: bool
    required_features: list[str]
    tags: list[str] = field(default_factory=list)
    # From `// tollgate: markers(...)` annotations on the test or an enclosing module.
    markers: list[str] = field(default_factory=list)


class RustFileWriter:
    """Writes one Rust source file's tests and records what nextest would list."""

    def __init__(self, rng: random.Random, rel: str, binary_id: str, file_features: list[str]):
        self.rng = rng
        self.rel = rel
        self.lint_rng = random.Random(f"lint:{rel}")
        self.binary_id = binary_id
        self.file_features = file_features
        self.lines: list[str] = []
        self.tests: list[RustTest] = []
        self.names: set[str] = set()

    def next_line(self) -> int:
        return sum(chunk.count("\n") + 1 for chunk in self.lines) + 1

    def emit_tests(self, n: int, indent: str, path_prefix: str, features: list[str],
                   module_markers: list[str] | None = None) -> None:
        rng = self.rng
        for _ in range(n):
            base = f"{rng.choice(WORDS)}_{rng.choice(RUST_VERBS)}"
            name = base
            k = 2
            while name in self.names:
                name = f"{base}_{k}"
                k += 1
            self.names.add(name)
            tags = []
            markers = set(module_markers or [])
            if module_markers:
                tags.append("annotation-module")
            trailing = None
            r = rng.random()
            if r < 0.12:
                own = rng.sample(ANNOTATION_MARKERS, rng.randint(1, 3))
                self.lines.append(f"{indent}// tollgate: markers({', '.join(own)})")
                markers.update(own)
                tags.append("annotation")
            elif r < 0.15:
                trailing = rng.choice(ANNOTATION_MARKERS)
                markers.add(trailing)
                tags.append("annotation-trailing")
            item_features = list(features)
            if rng.random() < 0.08:
                feat = rng.choice(["integration", "testing-cuda", "metrics"])
                self.lines.append(f'{indent}#[cfg(feature = "{feat}")]')
                if feat not in item_features:
                    item_features.append(feat)
                tags.append("cfg-item")
            r = rng.random()
            if r < 0.2:
                attr = "tokio::test"
                if rng.random() < 0.4:
                    self.lines.append(
                        f'{indent}#[tokio::test(flavor = "multi_thread", worker_threads = 2)]')
                else:
                    self.lines.append(f"{indent}#[tokio::test]")
                is_async = True
            else:
                attr = "test"
                self.lines.append(f"{indent}#[test]")
                is_async = False
            if trailing:
                self.lines[-1] += f" // tollgate: markers({trailing})"
            ignored = None
            r = rng.random()
            if r < 0.04 and self.lint_rng.random() >= BARE_IGNORE_RATE:
                # Most ignored tests say why (see MISTAKE_RATE); the same draw keeps the ids.
                self.lines.append(f'{indent}#[ignore = "needs a long run"]')
                ignored = "needs a long run"
                tags.append("ignore-reason")
            elif r < 0.04:
                self.lines.append(f"{indent}#[ignore]")
                ignored = ""
                tags.append("ignore-bare")
            elif r < 0.08:
                self.lines.append(f'{indent}#[ignore = "requires a GPU runner"]')
                ignored = "requires a GPU runner"
                tags.append("ignore-reason")
            elif r < 0.10:
                self.lines.append(f"{indent}#[ignore] // slow: needs etcd")
                ignored = ""
                tags.append("ignore-comment")
            should_panic = False
            if not is_async and rng.random() < 0.05:
                should_panic = True
                if rng.random() < 0.5:
                    self.lines.append(f'{indent}#[should_panic(expected = "out of range")]')
                else:
                    self.lines.append(f"{indent}#[should_panic]")
                tags.append("should-panic")
            line_no = self.next_line()
            kw = "async fn" if is_async else "fn"
            self.lines.append(f"{indent}{kw} {name}() {{")
            if should_panic:
                self.lines.append(f'{indent}    panic!("index out of range");')
            else:
                self.lines.append(f"{indent}    let v = vec![{rng.randint(1, 9)}u32; 3];")
                self.lines.append(f"{indent}    assert_eq!(v.len(), 3);")
            self.lines.append(f"{indent}}}")
            self.lines.append("")
            self.tests.append(RustTest(self.binary_id, f"{path_prefix}{name}", self.rel, line_no,
                                       attr, ignored, should_panic,
                                       sorted(set(item_features) | set(self.file_features)),
                                       tags, sorted(markers)))


WORKSPACE_TOML = '''[workspace]
members = ["lib/*"]
resolver = "2"

[workspace.package]
edition = "2021"
version = "0.1.0"

[workspace.dependencies]
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
'''


def unique_name(base: str, taken: set[str] | list[str], sep: str = "_") -> str:
    name = base
    k = 2
    while name in taken:
        name = f"{base}{sep}{k}"
        k += 1
    return name


class RustCrateWriter:
    """Writes one workspace member `lib/<crate>/` and records its tests."""

    def __init__(self, rng: random.Random, root: Path, crate: str, files: int,
                 tests_per_file: int):
        self.rng = rng
        self.root = root
        self.pkg = f"dynamo-{crate}"
        self.crate = crate
        self.dir = f"lib/{crate}"
        self.files_budget = files
        self.tests_per_file = tests_per_file
        self.tests: list[RustTest] = []
        self.files: list[str] = []

    def write(self, rel: str, lines: list[str]) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.files.append(rel)

    def keep(self, writer: RustFileWriter, tags: list[str]) -> None:
        for t in writer.tests:
            t.tags += tags
        self.write(writer.rel, writer.lines)
        self.tests.extend(writer.tests)

    def build(self) -> None:
        n_int = max(1, self.files_budget // 5)
        n_src = max(1, self.files_budget - n_int)
        int_names: list[str] = []
        for _ in range(n_int):
            int_names.append(unique_name(
                f"{self.crate.replace('-', '_')}_{self.rng.choice(WORDS)}", int_names))
        # One integration target per crate (when there are several) is a `[[test]]` with
        # required-features: nextest lists it only when that feature is on.
        required_target = int_names[-1] if n_int > 1 else None
        self.cargo_toml(required_target)
        mods = self.plan_modules(n_src - 1)  # lib.rs is one of the source files
        gated_mod = mods[-1][0] if len(mods) > 2 else None
        self.lib_rs(mods, gated_mod)
        for name, kind in mods:
            feats = ["testing-cuda"] if name == gated_mod else []
            self.module(name, kind, feats, ["cfg-module"] if feats else [])
        for name in int_names:
            self.integration_test(name, name == required_target)

    def cargo_toml(self, required_target: str | None) -> None:
        lines = [
            "[package]", f'name = "{self.pkg}"', "version.workspace = true",
            "edition.workspace = true", "",
            "[dependencies]", "tokio = { workspace = true }", "",
            "[features]", 'default = ["metrics"]', "metrics = []", "integration = []",
            "testing-cuda = []", 'testing-etcd = ["integration"]',
        ]
        if required_target:
            lines += ["", "[[test]]", f'name = "{required_target}"',
                      f'path = "tests/{required_target}.rs"',
                      'required-features = ["testing-cuda"]']
        self.write(f"{self.dir}/Cargo.toml", lines)

    def plan_modules(self, budget: int) -> list[tuple[str, str]]:
        """Top-level modules and their layout, using up `budget` source files:
        `file` (x.rs), `dir` (x/mod.rs + x/inner.rs), `nested` (x.rs + x/{codec,state}.rs),
        `tests-file` (x.rs with `#[cfg(test)] mod tests;` + x/tests.rs)."""
        mods: list[tuple[str, str]] = []
        names: list[str] = []
        while budget > 0:
            name = unique_name(self.rng.choice(WORDS), names, sep="")
            names.append(name)
            r = self.rng.random()
            if r < 0.2 and budget >= 3:
                mods.append((name, "nested"))
                budget -= 3
            elif r < 0.35 and budget >= 2:
                mods.append((name, "dir"))
                budget -= 2
            elif r < 0.5 and budget >= 2:
                mods.append((name, "tests-file"))
                budget -= 2
            else:
                mods.append((name, "file"))
                budget -= 1
        return mods

    def lib_rs(self, mods: list[tuple[str, str]], gated_mod: str | None) -> None:
        w = RustFileWriter(self.rng, f"{self.dir}/src/lib.rs", self.pkg, [])
        w.lines = ["//! Synthetic crate (generated).", ""]
        for name, _ in mods:
            if name == gated_mod:
                w.lines.append('#[cfg(feature = "testing-cuda")]')
            w.lines.append(f"pub mod {name};")
        w.lines += ["", "pub fn version() -> &'static str {", '    "0.1.0"', "}", "",
                    "#[cfg(test)]", "mod tests {", "    use super::*;", ""]
        w.emit_tests(max(1, self.tests_per_file // 2), "    ", "tests::", [])
        w.lines.append("}")
        self.keep(w, [])

    def module(self, name: str, kind: str, feats: list[str], tags: list[str]) -> None:
        src = f"{self.dir}/src"
        if kind == "file":
            self.module_file(f"{src}/{name}.rs", name, feats, [], True, tags + ["mod-file"])
        elif kind == "dir":
            self.module_file(f"{src}/{name}/mod.rs", name, feats, ["inner"], True,
                             tags + ["mod-rs"])
            self.module_file(f"{src}/{name}/inner.rs", f"{name}::inner", feats, [], True,
                             tags + ["mod-rs-child"])
        elif kind == "nested":
            self.module_file(f"{src}/{name}.rs", name, feats, ["codec", "state"], True,
                             tags + ["mod-file"])
            for child in ["codec", "state"]:
                self.module_file(f"{src}/{name}/{child}.rs", f"{name}::{child}", feats, [], True,
                                 tags + ["nested-mod-file"])
        else:  # tests-file: `#[cfg(test)] mod tests;` resolves to <name>/tests.rs
            self.module_file(f"{src}/{name}.rs", name, feats, [], False, tags)
            tw = RustFileWriter(self.rng, f"{src}/{name}/tests.rs", self.pkg, feats)
            tw.lines = ["use super::*;", ""]
            tw.emit_tests(self.tests_per_file, "", f"{name}::tests::", [])
            self.keep(tw, tags + ["tests-mod-file"])

    def module_file(self, rel: str, modpath: str, feats: list[str], children: list[str],
                    inline_tests: bool, tags: list[str]) -> None:
        rng = self.rng
        w = RustFileWriter(rng, rel, self.pkg, feats)
        w.lines = [f"//! `{modpath}` (generated).", ""]
        w.lines += [f"pub mod {child};" for child in children]
        w.lines += ["", "pub fn answer() -> u32 {", "    42", "}", ""]
        if inline_tests:
            mod_markers: list[str] = []
            if rng.random() < 0.1:
                mod_markers = rng.sample(ANNOTATION_MARKERS, 2)
                w.lines.append(f"// tollgate: markers({', '.join(mod_markers)})")
            w.lines += ["#[cfg(test)]", "mod tests {", "    use super::*;", "",
                        "    fn fixture() -> u32 {", "        answer()", "    }", ""]
            w.emit_tests(self.tests_per_file, "    ", f"{modpath}::tests::", [], mod_markers)
            if rng.random() < 0.2:
                w.lines += ['    #[cfg(feature = "integration")]', "    mod live {", ""]
                w.emit_tests(3, "        ", f"{modpath}::tests::live::", ["integration"],
                             mod_markers)
                w.lines.append("    }")
            w.lines.append("}")
        else:
            w.lines += ["#[cfg(test)]", "mod tests;"]
        self.keep(w, tags)

    def integration_test(self, name: str, required_features: bool) -> None:
        gated = self.rng.random() < 0.85
        file_feats = ["integration"] if gated else []
        if required_features:
            file_feats = sorted(set(file_feats) | {"testing-cuda"})
        w = RustFileWriter(self.rng, f"{self.dir}/tests/{name}.rs", f"{self.pkg}::{name}",
                           file_feats)
        w.lines = (['#![cfg(feature = "integration")]', ""] if gated else []) + \
            [f"//! Integration tests for {self.pkg} (generated).", ""]
        w.emit_tests(self.tests_per_file, "", "", [])
        if self.rng.random() < 0.4:
            w.lines += ["mod scenarios {", "    use super::*;", ""]
            w.emit_tests(max(2, self.tests_per_file // 4), "    ", "scenarios::", [])
            w.lines.append("}")
        tags = ["integration-gated" if gated else "integration-ungated"]
        if required_features:
            tags.append("required-features")
        self.keep(w, tags)


def rust_tree(rng: random.Random, root: Path, n_crates: int, files_per_crate: int,
              tests_per_file: int) -> dict:
    crates = RUST_CRATES[:n_crates]
    while len(crates) < n_crates:
        crates.append(f"extra{len(crates)}")
    (root / "Cargo.toml").write_text(WORKSPACE_TOML, encoding="utf-8")
    tests: list[RustTest] = []
    files: list[str] = []
    for crate in crates:
        writer = RustCrateWriter(rng, root, crate, files_per_crate, tests_per_file)
        writer.build()
        tests += writer.tests
        files += [f for f in writer.files if f.endswith(".rs")]
    return {"files": files, "tests": tests, "crates": [f"dynamo-{c}" for c in crates]}


def nextest_default_ids(tests: list[RustTest]) -> list[str]:
    """What `cargo nextest list --message-format oneline` prints with default features and
    `--run-ignored default`: non-ignored tests whose features are all enabled by default."""
    default = set(DEFAULT_FEATURES)
    return sorted(f"{t.binary_id} {t.name}" for t in tests
                  if t.ignored is None and set(t.required_features) <= default)


# --------------------------------------------------------------------------------------------
# Verification against the real tools (`--verify`, `--verify-nextest`); also used by the bench
# --------------------------------------------------------------------------------------------

ORACLE_PLUGIN_DIR = Path(__file__).resolve().parent.parent / "tests" / "oracle"
NEXTEST_TARGET_DIR = Path(__file__).resolve().parent / "out" / "target"


def pytest_oracle(python: str, corpus: Path, env: dict[str, str] | None = None,
                  extra_args: tuple[str, ...] = ()) -> tuple[dict[str, set[str]], list[dict]]:
    """pytest's view of the corpus: {node id: marker names from `item.iter_markers()`} and
    collection errors, through the repository's oracle plugin (`tests/oracle`)."""
    if not (ORACLE_PLUGIN_DIR / "markers_plugin.py").exists():
        raise SystemExit(f"missing {ORACLE_PLUGIN_DIR / 'markers_plugin.py'}")
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(ORACLE_PLUGIN_DIR), env.get("PYTHONPATH", "")] if p)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "oracle.json"
        errors = Path(tmp) / "errors.json"
        env["TOLLGATE_ORACLE_OUT"] = str(out)
        env["TOLLGATE_ORACLE_ERRORS"] = str(errors)
        proc = subprocess.run([python, "-m", "pytest", "--collect-only", "-q", "-p",
                               "markers_plugin", *extra_args], cwd=corpus, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if not out.exists():
            raise SystemExit(f"pytest wrote no oracle output (exit {proc.returncode}):\n"
                             f"{proc.stderr[-2000:]}")
        items = json.loads(out.read_text(encoding="utf-8"))
        errs = json.loads(errors.read_text(encoding="utf-8")) if errors.exists() else []
    return {i["nodeid"]: set(i["markers"]) for i in items}, errs


def nextest_list(corpus: Path, extra_args: tuple[str, ...] = ()) -> list[str]:
    """`cargo nextest list --message-format oneline` on the corpus. This compiles it once
    (into bench/out/target; tokio comes from crates.io), later calls are quick."""
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = str(NEXTEST_TARGET_DIR)
    proc = subprocess.run(["cargo", "nextest", "list", "--workspace", "--message-format",
                           "oneline", *extra_args], cwd=corpus, env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f"cargo nextest list failed (exit {proc.returncode}):\n"
                         f"{proc.stderr[-2000:]}")
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def diff_sets(label: str, want: set[str], got: set[str]) -> list[str]:
    if want == got:
        return []
    out = [f"{label}: {len(want - got)} modelled but absent, {len(got - want)} unexpected"]
    out += [f"  - {i}" for i in sorted(want - got)[:5]]
    out += [f"  + {i}" for i in sorted(got - want)[:5]]
    return out


def verify_python(corpus: Path, manifest: dict, python: str) -> list[str]:
    """Problems found when pytest (with `--strict-markers`) collects the corpus."""
    view, errors = pytest_oracle(python, corpus, extra_args=("--strict-markers",))
    problems = [f"collection error in {e['nodeid']}: {e['message'][-300:]}" for e in errors]
    model = {i["nodeid"]: set(i["markers"]) for i in manifest["python"]["items"]}
    problems += diff_sets("pytest node ids", set(model), set(view))
    wrong = [n for n in model.keys() & view.keys() if model[n] != view[n]]
    problems += [f"markers of {n}: modelled {sorted(model[n])}, pytest {sorted(view[n])}"
                 for n in sorted(wrong)[:5]]
    if len(wrong) > 5:
        problems.append(f"... {len(wrong) - 5} more marker differences")
    return problems


def verify_rust(corpus: Path, manifest: dict) -> list[str]:
    """Problems found comparing the Rust model with `cargo nextest list`, both with default
    features and with `--all-features --run-ignored all`."""
    rust = manifest["rust"]
    problems = diff_sets("nextest (default)", set(rust["nextest_default_ids"]),
                         set(nextest_list(corpus)))
    everything = {f"{t['binary_id']} {t['name']}" for t in rust["tests"]}
    problems += diff_sets("nextest (--all-features --run-ignored all)", everything,
                          set(nextest_list(corpus, ("--all-features", "--run-ignored", "all"))))
    return problems


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=here / "out" / "corpus",
                    help="output directory (default: bench/out/corpus); replaced if it holds a "
                         "previous corpus")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--python-files", type=int, default=2200)
    ap.add_argument("--items-per-file", type=int, default=24,
                    help="average collected items per Python module (varies 0.5x-1.5x)")
    ap.add_argument("--rust-crates", type=int, default=12)
    ap.add_argument("--rust-files-per-crate", type=int, default=20)
    ap.add_argument("--rust-tests-per-file", type=int, default=24)
    ap.add_argument("--test-work-ms", type=float, default=0.0, metavar="MS",
                    help="make every Python test do about MS milliseconds of work (an autouse "
                         "fixture in a root conftest.py), so running the suite looks like "
                         "running a real unit suite (bench/run_overhead.py); 0, the default, "
                         "writes no such conftest and the corpus is unchanged")
    ap.add_argument("--test-work-kind", choices=["sleep", "cpu"], default="sleep",
                    help="with --test-work-ms: `sleep` (steady on a busy machine) or `cpu` "
                         "(a fixed amount of arithmetic, about MS ms on an idle core)")
    ap.add_argument("--force", action="store_true",
                    help="replace --out even if it does not look like a generated corpus")
    ap.add_argument("--quiet", action="store_true", help="no summary")
    ap.add_argument("--verify", action="store_true",
                    help="collect the result with pytest (--strict-markers) and check it "
                         "matches the model: ids, marker names, no collection errors")
    ap.add_argument("--verify-nextest", action="store_true",
                    help="check the Rust model against `cargo nextest list` (compiles the "
                         "corpus into bench/out/target)")
    ap.add_argument("--python", default=str(Path(__file__).resolve().parent.parent / ".venv"
                                            / "bin" / "python"),
                    help="interpreter with pytest for --verify (default: .venv/bin/python)")
    return ap.parse_args(argv)


def prepare_out(out: Path, force: bool) -> None:
    if out.exists():
        if not (out / MANIFEST_NAME).exists() and any(out.iterdir()) and not force:
            raise SystemExit(f"{out} exists and is not a generated corpus; use --force")
        shutil.rmtree(out)
    out.mkdir(parents=True)


# The corpus's tollgate.toml: the `dynamo` preset, plus what this tree needs beside it (its
# plugin marks, its areas as components, and the defaults its conftest.py files would add).
PRESET = Path(__file__).resolve().parent.parent / "crates" / "tollgate-config" / "presets" \
    / "dynamo.toml"
CORPUS_CONFIG = '''
# =============================================================================
# Corpus additions (bench/gen_corpus.py): the preset adapted to this tree.
# =============================================================================

# Marks the corpus uses beside the seeds' taxonomy (plugins' and helpers'
# marks): strict taxonomy means they must be declared.
[taxonomy.categories.resources]
description = "What a test needs beside GPUs (plugin and helper marks)"

[taxonomy.categories.resources.markers]
timeout = "per-test timeout in seconds"
gpus = "number of GPUs: gpus(count=N)"
model = "model the test serves"
requires_etcd = "needs an etcd server"
requires_nats = "needs a NATS server"

# The corpus's areas are components too, so their test files are named after them.
[components.frontend]
paths = ["components/frontend/**", "tests/frontend/**"]
marker = "api"

[components.metrics]
paths = ["components/metrics/**"]
marker = "logging"

[components.serve]
paths = ["tests/serve/**"]
marker = "data_plane"

[components.benchmark]
paths = ["tests/benchmark/**"]
marker = "data_plane"

[components.fault]
paths = ["tests/fault_tolerance/**"]
marker = "control_plane"

[components.security]
paths = ["tests/security/**"]

[components.multimodal]
paths = ["tests/multimodal/**"]
marker = "data_plane"

# The scheduled runs build every feature and run the #[ignore]d Rust unit tests too.
[pipelines.nightly.overrides.unit]
cargo = { all_features = true, ignored = "include" }

[pipelines.weekly.overrides.unit]
cargo = { all_features = true, ignored = "include" }

[pipelines.release.overrides.unit]
cargo = { all_features = true, ignored = "include" }

# What the corpus's conftest.py files would add: defaults for tests that do
# not say. A test that does say keeps its own marker (`unless`).
[[rules]]
description = "Python tests run from pre-merge on unless marked"
language = "python"
unless = ["lifecycle"]
markers = ["pre_merge"]

[[rules]]
description = "Python tests need no GPU unless marked"
language = "python"
unless = ["hardware"]
markers = ["gpu_0"]

[[rules]]
description = "component tests are unit tests unless marked"
language = "python"
paths = ["components/planner/**", "components/router/**", "components/frontend/**", "components/metrics/**"]
unless = ["type"]
markers = ["unit"]

[[rules]]
description = "KVBM and back-end component tests are integration tests unless marked"
language = "python"
paths = ["components/kvbm/**", "components/backends/**"]
unless = ["type"]
markers = ["integration"]

[[rules]]
description = "the other top-level areas hold end-to-end tests"
language = "python"
paths = ["tests/**"]
unless = ["type"]
markers = ["e2e"]
'''


# Arithmetic iterations per millisecond of `--test-work-kind cpu` (about right for one core of
# a 2020s x86 server running CPython 3.11; the work is a fixed amount, not a fixed duration).
CPU_WORK_ITERATIONS_PER_MS = 6_000


def work_conftest(ms: float, kind: str) -> str:
    """A root conftest.py whose autouse fixture makes every test do about `ms` of work.

    It adds no marker and no parametrization: collection (ids, marks) is unchanged."""
    if kind == "cpu":
        iterations = max(1, int(ms * CPU_WORK_ITERATIONS_PER_MS))
        body = (f"    acc = 0\n    for i in range({iterations}):\n"
                f"        acc = (acc * 31 + i) % 1_000_003\n    yield acc")
    else:
        body = f"    time.sleep({ms / 1000.0!r})\n    yield"
    return (
        '"""Generated by bench/gen_corpus.py --test-work-ms: every test does some work, and\n'
        'async tests run in asyncio (as with pytest-asyncio), so the suite passes."""\n\n'
        "import asyncio\nimport inspect\nimport time\n\nimport pytest\n\n\n"
        "@pytest.fixture(autouse=True)\n"
        "def _bench_work():\n"
        f"{body}\n\n\n"
        "@pytest.hookimpl(tryfirst=True)\n"
        "def pytest_pyfunc_call(pyfuncitem):\n"
        "    if not inspect.iscoroutinefunction(pyfuncitem.obj):\n"
        "        return None\n"
        "    args = {a: pyfuncitem.funcargs[a] for a in pyfuncitem._fixtureinfo.argnames}\n"
        "    asyncio.run(pyfuncitem.obj(**args))\n"
        "    return True\n"
    )


def tollgate_toml() -> str:
    """The preset with the corpus additions appended (TOML allows tables in any order)."""
    return PRESET.read_text(encoding="utf-8").rstrip() + "\n" + CORPUS_CONFIG


def generate(args: argparse.Namespace) -> dict:
    prepare_out(args.out, args.force)
    rng = random.Random(args.seed)
    py = python_tree(rng, args.out, args.python_files, args.items_per_file)
    rs = rust_tree(rng, args.out, args.rust_crates, args.rust_files_per_crate,
                   args.rust_tests_per_file)
    (args.out / "tollgate.toml").write_text(tollgate_toml(), encoding="utf-8")
    work_ms = getattr(args, "test_work_ms", 0.0)
    if work_ms > 0:
        (args.out / "conftest.py").write_text(
            work_conftest(work_ms, getattr(args, "test_work_kind", "sleep")), encoding="utf-8")
    manifest = {
        "generator": {"seed": args.seed, "python_files": args.python_files,
                      "items_per_file": args.items_per_file, "rust_crates": args.rust_crates,
                      "rust_files_per_crate": args.rust_files_per_crate,
                      "rust_tests_per_file": args.rust_tests_per_file},
        "python": {
            "files": len(py["files"]),
            "items": [{"nodeid": i.nodeid, "markers": sorted(i.markers), "tags": sorted(i.tags)}
                      for i in py["items"]],
            "used_markers": py["used_markers"],
        },
        "rust": {
            "files": len(rs["files"]),
            "crates": rs["crates"],
            "default_features": DEFAULT_FEATURES,
            "tests": [t.__dict__ for t in rs["tests"]],
            "nextest_default_ids": nextest_default_ids(rs["tests"]),
        },
    }
    if work_ms > 0:
        # Only then: the default manifest stays byte-identical.
        manifest["generator"]["test_work"] = {"ms": work_ms,
                                              "kind": getattr(args, "test_work_kind", "sleep")}
    (args.out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=None), encoding="utf-8")
    return manifest


def summary(manifest: dict, out: Path) -> str:
    py = manifest["python"]
    rs = manifest["rust"]
    n_items = len(py["items"])
    n_param = sum(1 for i in py["items"] if "parametrize" in i["markers"])
    n_class = sum(1 for i in py["items"] if "::Test" in i["nodeid"])
    rtests = rs["tests"]
    ignored = sum(1 for t in rtests if t["ignored"] is not None)
    gated = sum(1 for t in rtests if t["required_features"])
    lines = [
        f"corpus: {out}",
        f"python: {py['files']} test files, {n_items} expected pytest items "
        f"({n_param} parametrized, {n_class} in classes), {len(py['used_markers'])} marker names",
        f"rust:   {rs['files']} source files in {len(rs['crates'])} crates, {len(rtests)} tests "
        f"({ignored} #[ignore], {gated} feature-gated; "
        f"{len(rs['nextest_default_ids'])} listed by nextest with default features)",
        f"manifest: {out / MANIFEST_NAME}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    manifest = generate(args)
    if not args.quiet:
        print(summary(manifest, args.out))
    problems: list[str] = []
    if args.verify:
        print("verifying with pytest --collect-only ...", file=sys.stderr, flush=True)
        problems += verify_python(args.out, manifest, args.python)
    if args.verify_nextest:
        print("verifying with cargo nextest list ...", file=sys.stderr, flush=True)
        problems += verify_rust(args.out, manifest)
    for p in problems:
        print(p, file=sys.stderr)
    if args.verify or args.verify_nextest:
        print("verify: " + ("FAILED" if problems else "the real tools agree with the model"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
