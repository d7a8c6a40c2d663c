#!/usr/bin/env python3
"""uberjob 2 benchmark driver: ours vs uberjob 1.0.0 vs Dask's threaded scheduler, in one run.

    python benchmarks/run.py                       # full suite (~15-20 min, quiet 2-core machine)
    python benchmarks/run.py --quick               # smaller sizes, one repetition (~2-3 min)
    python benchmarks/run.py --only wide,sleep     # only configurations whose id/group matches
    python benchmarks/run.py --impls ours,uberjob1 # only these implementations
    python benchmarks/run.py --from benchmarks/results/<file>.json   # re-print a saved run

Peers live in their own venvs next to this file (created on first use, reused afterwards):
``.venv-uberjob1`` (uberjob==1.0.0), ``.venv-dask`` (dask==2024.8.2, the version DESIGN.md says
to compare against) and ``.venv-dask-latest`` (the newest dask at the time it was created, for
reference only). "ours" runs with /work/main/.venv/bin/python and PYTHONPATH=<repo>/src.

Each (implementation, configuration) is measured in a fresh subprocess running
``workloads.py`` (so memory figures are clean); its stdout/stderr go to /dev/null (``--logs``
keeps them) and it writes its figures as JSON. The driver prints one Markdown table with the
targets from issues 2, 3 and 6 and the ratios ours/peer, and saves everything under
``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import operator
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORKLOADS = BENCH / "workloads.py"
RESULTS = BENCH / "results"


# ------------------------------------------------------------------------------------------------
# Implementations.


@dataclass
class Impl:
    key: str  # short id used on the command line and in results
    label: str  # column title (version filled in once known)
    kind: str  # what workloads.py --impl gets: uberjob | dask | tpe | floor
    venv: Path | None = None  # peer venv (created if missing)
    pip_spec: list[str] = field(default_factory=list)
    module: str | None = None  # module whose __version__ we check
    want_version: str | None = None

    def python(self) -> str:
        if self.venv is not None:
            return str(self.venv / "bin" / "python")
        if self.key == "ours":
            p = ROOT / ".venv" / "bin" / "python"
            return str(p) if p.exists() else sys.executable
        return sys.executable

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        if self.key == "ours":
            env["PYTHONPATH"] = str(ROOT / "src")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env


IMPLS = {
    "ours": Impl("ours", "ours", "uberjob", module="uberjob"),
    "uberjob1": Impl(
        "uberjob1",
        "uberjob 1.0.0",
        "uberjob",
        venv=BENCH / ".venv-uberjob1",
        pip_spec=["uberjob==1.0.0"],
        module="uberjob",
        want_version="1.0.0",
    ),
    "dask": Impl(
        "dask",
        "dask 2024.8.2",
        "dask",
        venv=BENCH / ".venv-dask",
        pip_spec=["dask==2024.8.2"],
        module="dask",
        want_version="2024.8.2",
    ),
    "dask-latest": Impl(
        "dask-latest",
        "dask latest",
        "dask",
        venv=BENCH / ".venv-dask-latest",
        pip_spec=["dask"],
        module="dask",
    ),
    "tpe": Impl("tpe", "TPE.map", "tpe"),
    "floor": Impl("floor", "minimal loop", "floor"),
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def module_version(impl: Impl) -> str | None:
    code = f"import {impl.module}; print({impl.module}.__version__)"
    r = subprocess.run(
        [impl.python(), "-c", code], env=impl.env(), capture_output=True, text=True, check=False
    )
    return r.stdout.strip() if r.returncode == 0 else None


def ensure_impl(impl: Impl) -> str | None:
    """Creates/updates the peer venv when needed; returns the installed version (None: unusable)."""
    if impl.kind in ("tpe", "floor"):
        return platform.python_version()
    if impl.venv is not None:
        py = impl.venv / "bin" / "python"
        if not py.exists():
            log(f"creating {impl.venv.relative_to(ROOT)} ...")
            subprocess.run([sys.executable, "-m", "venv", str(impl.venv)], check=True)
        version = module_version(impl)
        if version is None or (impl.want_version and version != impl.want_version):
            log(f"pip install {' '.join(impl.pip_spec)} into {impl.venv.relative_to(ROOT)} ...")
            subprocess.run(
                [str(py), "-m", "pip", "install", "--quiet", *impl.pip_spec],
                check=True,
            )
            version = module_version(impl)
        return version
    # ours
    return module_version(impl)


# ------------------------------------------------------------------------------------------------
# Configurations (one subprocess each per implementation).

SIZES = {
    "full": {
        "build_n": 200_000,
        "run_n": 20_000,
        "big_n": 200_000,
        "reps": 3,
        "big_reps": 2,
        "reg_n": 2_000,
        "million_n": 1_000_000,
        "million_peer_n": 100_000,
        "delayed_n": 5_000,
        "memory_n": 10_000,
        "timeout": 3600,
    },
    "quick": {
        "build_n": 50_000,
        "run_n": 5_000,
        "big_n": 50_000,
        "reps": 1,
        "big_reps": 1,
        "reg_n": 2_000,
        "million_n": 100_000,
        "million_peer_n": 20_000,
        "delayed_n": 2_000,
        "memory_n": 2_000,
        "timeout": 900,
    },
}

RUN_PEERS = ["ours", "uberjob1", "dask", "dask-latest"]


@dataclass
class Config:
    id: str
    group: str
    scenario: str
    params: dict
    impls: list[str]


def make_configs(s: dict) -> list[Config]:
    cfgs = [
        Config(
            "build-literal",
            "build",
            "build",
            {"shape": "literal", "n": s["build_n"], "reps": s["reps"]},
            ["ours", "uberjob1", "dask", "dask-latest"],
        ),
        Config(
            "build-chain",
            "build",
            "build",
            {"shape": "chain", "n": s["build_n"], "reps": s["reps"]},
            ["ours", "uberjob1"],
        ),
    ]
    for shape in ("wide", "chain", "dag"):
        for progress in ("console", "off"):
            for workers in (1, 8):
                impls = list(RUN_PEERS)
                if shape == "wide" and progress == "off":
                    impls.append("tpe")
                if shape == "dag" and progress == "console" and workers == 8:
                    impls.append("floor")  # the growth floor: see workloads.floor_scenario_run
                cfgs.append(
                    Config(
                        f"run-{shape}-w{workers}-{progress}",
                        shape,
                        "run",
                        {
                            "shape": shape,
                            "n": s["run_n"],
                            "workers": workers,
                            "progress": progress,
                            "reps": s["reps"],
                            "seed": 2,
                        },
                        impls,
                    )
                )
    cfgs.append(
        Config(
            "sleep",
            "sleep",
            "run",
            {
                "shape": "sleep",
                "n": 256,
                "workers": 32,
                "progress": "console",
                "reps": max(5, s["reps"]),
            },
            [*RUN_PEERS, "tpe"],
        )
    )
    for shape in ("wide", "chain", "dag"):
        # Dask 2024.8.2 grows ~quadratically on the random DAG (1.1 ms/call at 50k): 200k would
        # take ~15 min, so it is measured for growth in --quick mode only.
        big_impls = ["ours", "uberjob1", "dask"]
        if shape == "dag" and s["big_n"] > 50_000:
            big_impls.remove("dask")
        if shape == "dag":
            big_impls.append("floor")
        cfgs.append(
            Config(
                f"big-{shape}",
                "growth",
                "run",
                {
                    "shape": shape,
                    "n": s["big_n"],
                    "workers": 8,
                    "progress": "console",
                    "reps": s["big_reps"],
                    "seed": 2,
                },
                big_impls,
            )
        )
    cfgs += [
        Config(
            "registry",
            "registry",
            "registry",
            {"n": s["reg_n"], "workers": 8, "progress": "console", "reps": s["reps"]},
            ["ours", "uberjob1"],
        ),
        Config(
            "million",
            "million",
            "run",
            {
                "shape": "million",
                "n": s["million_n"],
                "workers": 8,
                "progress": "console",
                "reps": 1,
            },
            ["ours"],
        ),
        Config(
            "million-peer",
            "million",
            "run",
            {
                "shape": "million",
                "n": s["million_peer_n"],
                "workers": 8,
                "progress": "console",
                "reps": 1,
            },
            ["uberjob1"],
        ),
        *[
            Config(
                f"memory-{shape}",
                "memory",
                "memory",
                {"shape": shape, "n": s["memory_n"], "mb": 1, "progress": "console"},
                ["ours", "uberjob1"],
            )
            for shape in ("fanout", "ladder")
        ],
        Config(
            "wide-delayed",
            "delayed",
            "wide_delayed",
            {"n": s["delayed_n"], "workers": 8, "reps": 1},
            ["dask", "dask-latest"],
        ),
    ]
    return cfgs


def ram_dir() -> str:
    return "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


def cpu_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (not idle/iowait), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def others_busy_cores(seconds: float) -> float:
    """How many cores other processes kept busy over the next ``seconds``."""
    b0, c0, t0 = cpu_busy_seconds(), children_cpu_seconds(), time.perf_counter()
    time.sleep(seconds)
    b1, c1, t1 = cpu_busy_seconds(), children_cpu_seconds(), time.perf_counter()
    return max(0.0, (b1 - b0) - (c1 - c0)) / (t1 - t0)


def wait_for_quiet(max_busy: float, max_wait: float) -> float:
    """Waits (up to max_wait s) until others use at most max_busy cores; returns what they use."""
    deadline = time.monotonic() + max_wait
    busy = others_busy_cores(0.5)
    while busy > max_busy and time.monotonic() < deadline:
        time.sleep(2)
        busy = others_busy_cores(0.5)
    return busy


def run_one(cfg: Config, impl: Impl, timeout: float, logs: bool) -> dict:
    params = dict(cfg.params)
    if cfg.scenario == "registry":
        params["dir"] = os.path.join(ram_dir(), f"uberjob-bench-{os.getpid()}-{impl.key}")
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out_path = f.name
    cmd = [
        impl.python(),
        str(WORKLOADS),
        "--impl",
        impl.kind,
        "--scenario",
        cfg.scenario,
        "--params",
        json.dumps(params),
        "--out",
        out_path,
    ]
    if logs:
        (RESULTS / "logs").mkdir(parents=True, exist_ok=True)
        sink = open(RESULTS / "logs" / f"{cfg.id}.{impl.key}.log", "w")  # noqa: SIM115
    else:
        sink = open(os.devnull, "w")  # noqa: SIM115
    t0 = time.perf_counter()
    busy0, child0 = cpu_busy_seconds(), children_cpu_seconds()
    try:
        proc = subprocess.run(
            cmd,
            env=impl.env(),
            cwd=tempfile.gettempdir(),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            timeout=timeout,
            check=False,
        )
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        rc = "timeout"
    finally:
        sink.close()
    wall = time.perf_counter() - t0
    # Cores kept busy by everything except our child during the job: a noise indicator.
    others = ((cpu_busy_seconds() - busy0) - (children_cpu_seconds() - child0)) / wall
    try:
        with open(out_path) as f:
            text = f.read()
        res = json.loads(text) if text else None
    except (OSError, json.JSONDecodeError):
        res = None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(out_path)
    if res is None:
        res = {"status": "error", "reason": f"child exited with {rc} and no result"}
    res["process_wall_s"] = wall
    res["load1_after"] = os.getloadavg()[0]
    res["others_cores"] = max(0.0, others)
    return res


# ------------------------------------------------------------------------------------------------
# The table.


@dataclass
class Row:
    label: str
    get: callable  # (results, impl_key) -> float | None | str
    fmt: str  # us | bytes | pct | x | s
    target: tuple | None = None  # ("rel", k) ours <= k * uberjob1 | ("le", v) | ("ge", v)
    note: str = ""


def metric(cfg_id: str, key: str, scale: float = 1.0):
    def get(results, impl):
        r = results.get(cfg_id, {}).get(impl)
        if r is None:
            return None
        if r.get("status") != "ok":
            return "n/a" if r.get("status") == "n/a" else "ERR"
        v = r["metrics"].get(key)
        return None if v is None else v * scale

    get.cfgs = [cfg_id]
    return get


def growth(shape: str, combine=operator.truediv):
    """µs per call at the big size against the run size (8 workers, console): their ratio, or
    with ``combine=operator.sub`` the µs added (beside the ratio: a floor with a small per-call
    cost has a large ratio for the same added memory traffic)."""

    def get(results, impl):
        big = metric(f"big-{shape}", "us_per_call")(results, impl)
        small = metric(f"run-{shape}-w8-console", "us_per_call")(results, impl)
        if isinstance(big, str) or isinstance(small, str):
            return big if isinstance(big, str) else small
        if big is None or small is None:
            return None
        return combine(big, small)

    get.cfgs = [f"big-{shape}", f"run-{shape}-w8-console"]
    return get


def million_time(results, impl):
    if impl == "ours":
        return metric("million", "end_to_end_s")(results, impl)
    r = results.get("million-peer", {}).get(impl)
    v = metric("million-peer", "end_to_end_s")(results, impl)
    if isinstance(v, float) and r is not None:
        full = results.get("million", {}).get("ours", {}).get("params", {}).get("n")
        full = full or 1_000_000
        return v * full / r["params"]["n"]  # linear projection (flatters 1.0 if it grows)
    return v


million_time.cfgs = ["million", "million-peer"]


def million_mem(results, impl):
    if impl == "ours":
        return metric("million", "bytes_per_node")(results, impl)
    return metric("million-peer", "bytes_per_node")(results, impl)


million_mem.cfgs = ["million", "million-peer"]

NOISY_CORES = 0.5  # a cell is marked when other processes kept more than this many cores busy


def noisy(results, row, impl) -> bool:
    for cfg_id in getattr(row.get, "cfgs", []):
        r = results.get(cfg_id, {}).get(impl)
        if r is not None and r.get("others_cores", 0) > NOISY_CORES:
            return True
    return False


def make_rows(sizes: dict) -> list[tuple[str, list[Row]]]:
    rn, bn = sizes["run_n"], sizes["big_n"]

    def k(n: int) -> str:
        if n >= 1_000_000:
            return f"{n / 1e6:g}M"
        return f"{n // 1000:,}k" if n >= 1000 else str(n)

    sections = []
    sections.append(
        (
            f"plan building, µs per plan.call ({k(sizes['build_n'])} calls)",
            [
                Row(
                    "build: plan.call(f, i)",
                    metric("build-literal", "us_per_call"),
                    "us",
                    ("rel", 1 / 3),
                ),
                Row(
                    "build: chain plan.call(f, x)",
                    metric("build-chain", "us_per_call"),
                    "us",
                    ("rel", 1 / 3),
                ),
            ],
        )
    )
    for progress in ("console", "off"):
        rows = []
        for shape in ("wide", "chain", "dag"):
            for w in (1, 8):
                rows.append(
                    Row(
                        f"run {shape}, {w} worker{'s' if w > 1 else ''}",
                        metric(f"run-{shape}-w{w}-{progress}", "us_per_call"),
                        "us",
                        ("rel", 1 / 10) if progress == "console" else None,
                    )
                )
        title = (
            f"run overhead, µs per no-op call ({k(rn)} calls), progress=console"
            if progress == "console"
            else f"run overhead, µs per no-op call ({k(rn)} calls), progress=False (reference)"
        )
        sections.append((title, rows))
    sections.append(
        (
            "parallelism, memory and growth (progress=console)",
            [
                Row(
                    "sleep 256 x 10 ms, 32 workers: % of ideal",
                    metric("sleep", "efficiency", 100),
                    "pct",
                    ("ge", 90),
                ),
                Row(
                    f"peak memory, bytes/node (wide {k(bn)}, build+run)",
                    metric("big-wide", "bytes_per_node"),
                    "bytes",
                    ("rel", 1 / 2),
                ),
                Row(
                    f"peak memory, bytes/node (chain {k(bn)})",
                    metric("big-chain", "bytes_per_node"),
                    "bytes",
                ),
                Row(
                    f"peak memory, bytes/node (dag {k(bn)})",
                    metric("big-dag", "bytes_per_node"),
                    "bytes",
                ),
                Row(
                    f"growth wide: µs/call at {k(bn)} / at {k(rn)}",
                    growth("wide"),
                    "x",
                    ("le", 1.2),
                ),
                Row(
                    f"growth chain: µs/call at {k(bn)} / at {k(rn)}",
                    growth("chain"),
                    "x",
                    ("le", 1.2),
                ),
                Row(
                    f"growth dag: µs/call at {k(bn)} / at {k(rn)}", growth("dag"), "x", ("le", 1.2)
                ),
                Row(
                    f"growth dag: µs/call added at {k(bn)} over {k(rn)}",
                    growth("dag", operator.sub),
                    "us",
                    note="minimal loop: memory traffic alone",
                ),
            ],
        )
    )
    sections.append(
        (
            f"issue 3: registry, {sizes['reg_n']:,} PickleFileStores on a RAM disk, µs/call",
            [
                Row(
                    "registry: all stale (compute + write)",
                    metric("registry", "stale_us_per_call"),
                    "us",
                    ("rel", 1 / 2),
                ),
                Row(
                    "registry: all fresh, nothing to do",
                    metric("registry", "fresh_us_per_call"),
                    "us",
                    ("le", 15),
                ),
                Row(
                    "registry: all fresh, read back as output",
                    metric("registry", "readback_us_per_call"),
                    "us",
                    ("rel", 1 / 2),
                ),
            ],
        )
    )
    sections.append(
        (
            f"issue 6: {k(sizes['million_n'])} no-op calls in 100 scopes, wide layer + reduction",
            [
                Row(
                    "end to end (build + run), s",
                    million_time,
                    "s",
                    ("le", 15),
                    note=f"1.0 projected linearly from {k(sizes['million_peer_n'])}",
                ),
                Row("peak memory, bytes/node", million_mem, "bytes", ("le", 1000)),
            ],
        )
    )
    sections.append(
        (
            f"issue 11: memory-conscious order, {sizes['memory_n']:,} values of 1 MiB, default "
            "workers, peak RSS in MiB",
            [
                Row(
                    "fan-out: each source read by 2 calls",
                    metric("memory-fanout", "peak_rss_mb"),
                    "s",
                    ("rel", 1),
                ),
                Row(
                    "ladder: x = step(x, produce(k))",
                    metric("memory-ladder", "peak_rss_mb"),
                    "s",
                    ("rel", 1 / 10),
                ),
                Row(
                    "ladder: run time, s",
                    metric("memory-ladder", "run_s"),
                    "s",
                ),
            ],
        )
    )
    sections.append(
        (
            f"reference: dask.compute(*[delayed(f)(i)]) ({k(sizes['delayed_n'])}, 8 workers)",
            [
                Row(
                    "dask.compute of a delayed list, µs/call",
                    metric("wide-delayed", "us_per_call"),
                    "us",
                )
            ],
        )
    )
    return sections


def fmt(v, kind: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if kind == "us":
        return f"{v:.3g}" if v < 100 else f"{v:,.0f}"
    if kind == "bytes":
        return f"{v:,.0f}"
    if kind == "pct":
        return f"{v:.1f}%"
    if kind == "x":
        return f"{v:.2f}x"
    if kind == "s":
        return f"{v:.1f}"
    return str(v)


def target_text(t) -> str:
    if t is None:
        return "ref"
    kind, v = t
    if kind == "rel":
        return f"<= 1/{round(1 / v)} of 1.0"
    if kind == "le":
        return f"<= {v:g}"
    if kind == "ge":
        return f">= {v:g}"
    return "?"


def verdict(t, ours, peer) -> str:
    if t is None:
        return ""
    if not isinstance(ours, float):
        return "n/a"
    kind, v = t
    if kind == "rel":
        if not isinstance(peer, float):
            return "?"
        return "ok" if ours <= v * peer else "MISS"
    if kind == "le":
        return "ok" if ours <= v else "MISS"
    return "ok" if ours >= v else "MISS"


def ratio(a, b) -> str:
    if isinstance(a, float) and isinstance(b, float) and b > 0:
        return f"{a / b:.2f}"
    return "-"


def render_table(data: dict) -> str:
    results = data["results"]
    labels = data["labels"]
    impls = [i for i in ["ours", "uberjob1", "dask", "dask-latest", "tpe", "floor"] if i in labels]
    head = ["scenario", "target", *[labels[i] for i in impls], "ours/1.0", "ours/dask", "verdict"]
    lines = []
    for title, rows in make_rows(data["sizes"]):
        measured = [r for r in rows if any(r.get(results, i) is not None for i in impls)]
        if not measured:
            continue
        lines.append(f"\n**{title}**\n")
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        for row in measured:
            vals = {i: row.get(results, i) for i in impls}
            label = row.label + (f" ({row.note})" if row.note else "")
            cells = [label, target_text(row.target)]
            cells += [
                fmt(vals[i], row.fmt) + (" ~" if noisy(results, row, i) else "") for i in impls
            ]
            cells += [
                ratio(vals.get("ours"), vals.get("uberjob1")),
                ratio(vals.get("ours"), vals.get("dask")),
            ]
            cells.append(verdict(row.target, vals.get("ours"), vals.get("uberjob1")))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_problems(data: dict) -> str:
    out = []
    for cfg_id, per_impl in data["results"].items():
        for impl, r in per_impl.items():
            if r.get("status") == "error":
                tb = r.get("traceback", "").strip().splitlines()
                last = tb[-1] if tb else r.get("reason")
                out.append(f"- {cfg_id} / {impl}: ERROR {last}")
            elif r.get("status") == "n/a":
                out.append(f"- {cfg_id} / {impl}: n/a ({r.get('reason')})")
    return "\n".join(out)


def render(data: dict) -> str:
    m = data["machine"]
    head = (
        f"uberjob benchmarks, {data['mode']} mode, {data['started']} "
        f"({m['cores']} cores, {m['mem_gib']:.0f} GiB, Python {m['python']}, "
        f"load avg {m['load_before']} -> {m['load_after']}); main at {data.get('git', '?')}"
    )
    text = head + "\n" + render_table(data)
    text += (
        f"\n\n~ = other processes kept more than {NOISY_CORES} of the {m['cores']} cores busy "
        "while that figure was measured (noisy; rerun when the machine is quiet)."
    )
    problems = render_problems(data)
    if problems:
        text += "\n\nNot measured / failed:\n" + problems
    return text


# ------------------------------------------------------------------------------------------------


def git_head() -> str:
    r = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    )
    return r.stdout.strip()[:80] or "?"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, one repetition")
    ap.add_argument("--only", default="", help="comma-separated substrings of config ids/groups")
    ap.add_argument("--impls", default=",".join(IMPLS), help="comma-separated implementations")
    ap.add_argument("--reps", type=int, help="repetitions per measurement (best of; default 3)")
    ap.add_argument("--logs", action="store_true", help="keep child stdout/stderr in results/logs")
    ap.add_argument("--from", dest="from_file", help="re-print the table of a saved results file")
    ap.add_argument(
        "--max-busy",
        type=float,
        default=0.3,
        help="before each job, wait until other processes use at most this many cores",
    )
    ap.add_argument("--max-wait", type=float, default=30, help="... but wait at most this long (s)")
    a = ap.parse_args(argv)

    if a.from_file:
        with open(a.from_file) as f:
            print(render(json.load(f)))
        return 0

    mode = "quick" if a.quick else "full"
    sizes = dict(SIZES[mode])
    if a.reps:
        sizes["reps"] = a.reps
    wanted_impls = [i.strip() for i in a.impls.split(",") if i.strip()]
    for i in wanted_impls:
        if i not in IMPLS:
            ap.error(f"unknown implementation {i!r}; choose from {', '.join(IMPLS)}")
    only = [o.strip() for o in a.only.split(",") if o.strip()]
    cfgs = [
        c for c in make_configs(sizes) if not only or any(o == c.group or o in c.id for o in only)
    ]
    if not cfgs:
        ap.error(f"--only {a.only!r} matches no configuration")

    labels = {}
    for key in wanted_impls:
        impl = IMPLS[key]
        version = ensure_impl(impl)
        if version is None:
            log(f"{key}: cannot import {impl.module} with {impl.python()}; skipping")
            continue
        labels[key] = impl.label if key != "dask-latest" else f"dask {version}"
        if key == "ours":
            labels[key] = f"ours ({version})"
        log(f"{key}: {impl.module or 'stdlib'} {version} via {impl.python()}")

    RESULTS.mkdir(exist_ok=True)
    started = dt.datetime.now().astimezone()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    data = {
        "mode": mode,
        "sizes": sizes,
        "started": started.strftime("%Y-%m-%d %H:%M %Z"),
        "git": git_head(),
        "machine": {
            "cores": os.cpu_count(),
            "mem_gib": mem,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        },
        "labels": labels,
        "results": {},
    }
    out_file = RESULTS / f"{started.strftime('%Y%m%d-%H%M%S')}-{mode}.json"
    jobs = [(c, k) for c in cfgs for k in c.impls if k in labels]
    for n, (cfg, key) in enumerate(jobs, 1):
        before = wait_for_quiet(a.max_busy, a.max_wait)
        res = run_one(cfg, IMPLS[key], sizes["timeout"], a.logs)
        res["others_cores_before"] = before
        data["results"].setdefault(cfg.id, {})[key] = res
        summary = res.get("status")
        if summary == "ok":
            mm = res["metrics"]
            shown = {
                k: round(v, 3)
                for k, v in mm.items()
                if isinstance(v, float) and k.endswith(("per_call", "per_node", "efficiency", "_s"))
            }
            summary = " ".join(f"{k}={v}" for k, v in shown.items())
            if key == "ours" and not str(res["info"].get("module", "")).startswith(str(ROOT)):
                summary += f"  (WARNING: imported from {res['info'].get('module')})"
        else:
            summary = f"{summary}: {res.get('reason')}"
        log(
            f"[{n}/{len(jobs)}] {cfg.id} / {key}: {summary}  "
            f"({res['process_wall_s']:.1f} s; others used {res['others_cores']:.2f} cores)"
        )
        data["machine"]["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        with open(out_file, "w") as f:  # saved after every job: a crash keeps what was measured
            json.dump(data, f, indent=1)
    print(render(data))
    log(f"\nsaved {out_file.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
