#!/usr/bin/env python3
"""Median latency of each exported model under GroupConv and under ONNX Runtime, side by side.

Run from the repository root after Models/export_torchvision.py and
`swift build -c release --product groupconv`:

    python3 Models/latency.py                          # every model in .models/
    python3 Models/latency.py --only mobilenet_v2 --check --json latency.json
    python3 Models/latency.py --peers-only             # ONNX Runtime alone

For each model folder (model.onnx, input.npy, output.npy) it times ONNX Runtime in this process
(CPUExecutionProvider, default SessionOptions except intra_op_num_threads=--threads and
inter_op_num_threads=1): --warmup runs, then at least --runs runs and at least --min-seconds,
median of the wall time of session.run. GroupConv is timed by
`groupconv bench --model model.onnx --input input.npy --threads N --json TMP`, which does its own
warm-up and repetitions; the median_ms it reports is taken. The two alternate model by model,
and with --rounds R > 1 in the order A B B A ..., so that slow drift on a shared machine falls
on both alike; ONNX Runtime's median is over all its runs, GroupConv's is the median of its
rounds' medians.

The machine may be shared: for each measurement the script records how many cores' worth of
CPU other processes used meanwhile (/proc/stat less its own CPU time), and --retries N measures
ONNX Runtime again while that was above --busy-cores, keeping the least disturbed attempt.

--check also runs `groupconv run model.onnx --input input.npy --output TMP` and compares the
result with output.npy (PyTorch's), next to ONNX Runtime's own difference from it.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import onnxruntime as ort
except ImportError as error:
    sys.exit(f"latency.py: {error.name} is missing: pip install numpy onnxruntime")


def package_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def model_names(models_dir, only):
    manifest = os.path.join(models_dir, "manifest.json")
    names = []
    if os.path.exists(manifest):
        with open(manifest) as f:
            names = [entry["name"] for entry in json.load(f).get("models", [])]
    if not names and os.path.isdir(models_dir):
        names = sorted(n for n in os.listdir(models_dir)
                       if os.path.exists(os.path.join(models_dir, n, "model.onnx")))
    if only:
        wanted = [n.strip() for n in only.split(",") if n.strip()]
        missing = [n for n in wanted if not os.path.exists(os.path.join(models_dir, n, "model.onnx"))]
        if missing:
            sys.exit(f"latency.py: no {', '.join(n + '/model.onnx' for n in missing)} in {models_dir}; "
                     "make them with Models/export_torchvision.py")
        return wanted
    if not names:
        sys.exit(f"latency.py: no model folders in {models_dir}; make them with Models/export_torchvision.py")
    return names


def cpu_seconds_busy():
    """Seconds of CPU time spent by the whole machine so far (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class OthersMeter:
    """How many cores' worth of CPU other processes used while a block ran: the machine's busy
    time less this process's own, over the wall time."""

    def __enter__(self):
        self.machine, self.own, self.wall = cpu_seconds_busy(), sum(os.times()[:2]), time.perf_counter()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.wall
        machine = cpu_seconds_busy()
        own = sum(os.times()[:2]) - self.own
        self.cores = None if machine is None or wall <= 0 else max(0.0, (machine - self.machine - own) / wall)
        return False


class OrtTimer:
    def __init__(self, path, x, threads):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.feed = {self.session.get_inputs()[0].name: x}
        self.samples = []
        self.others = []
        self.output = None

    def warm_up(self, count):
        for _ in range(count):
            self.output = self.session.run(None, self.feed)[0]

    def measure(self, runs, min_seconds):
        samples = []
        with OthersMeter() as meter:
            started = time.perf_counter()
            while len(samples) < runs or time.perf_counter() - started < min_seconds:
                t0 = time.perf_counter()
                self.session.run(None, self.feed)
                samples.append((time.perf_counter() - t0) * 1000.0)
        return samples, meter.cores

    def measure_quietest(self, runs, min_seconds, busy_cores, retries):
        """Measure; while other processes used more than busy_cores cores, measure again, up
        to retries times, and keep the attempt they disturbed least."""
        best = None
        for _ in range(retries + 1):
            samples, others = self.measure(runs, min_seconds)
            if best is None or (others is not None and (best[1] is None or others < best[1])):
                best = (samples, others)
            if others is None or others <= busy_cores:
                break
        self.samples.extend(best[0])
        self.others.append(best[1])


def median_from_report(report):
    """median_ms from what `groupconv bench --json` wrote: an object, or a list holding one."""
    if isinstance(report, list):
        objects = [r for r in report if isinstance(r, dict)]
        if not objects:
            raise ValueError("a JSON list with no object in it")
        if len(objects) > 1:
            with_median = [r for r in objects if "median_ms" in r]
            objects = with_median or objects
        report = objects[0]
    if not isinstance(report, dict):
        raise ValueError(f"expected a JSON object, got {type(report).__name__}")
    for key, scale in (("median_ms", 1.0), ("median_us", 1e-3), ("median_s", 1e3), ("median_seconds", 1e3)):
        if key in report and isinstance(report[key], (int, float)):
            return float(report[key]) * scale, report
    raise ValueError(f"no median_ms among the keys {sorted(report)}")


def operator_times(report):
    """The operators list, if any, as (name, ms) pairs, slowest first; lenient about key names."""
    operators = report.get("operators") if isinstance(report, dict) else None
    if not isinstance(operators, list):
        return []
    pairs = []
    for op in operators:
        if not isinstance(op, dict):
            continue
        name = op.get("name") or op.get("op") or op.get("op_type") or op.get("type") or "?"
        for key in ("total_ms", "ms", "median_ms", "time_ms"):
            if isinstance(op.get(key), (int, float)):
                pairs.append((str(name), float(op[key])))
                break
    return sorted(pairs, key=lambda p: -p[1])


def last_line(text):
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run_groupconv_bench(binary, folder, threads, timeout):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        command = [binary, "bench", "--model", os.path.join(folder, "model.onnx"),
                   "--input", os.path.join(folder, "input.npy"), "--threads", str(threads), "--json", out]
        started = time.perf_counter()
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout} s", "command": command}
        except OSError as error:
            return {"error": str(error), "command": command}
        wall = time.perf_counter() - started
        if done.returncode != 0:
            return {"error": f"exit {done.returncode}: {last_line(done.stderr) or last_line(done.stdout)}",
                    "command": command, "wall_seconds": wall}
        try:
            with open(out) as f:
                raw = json.load(f)
            median, report = median_from_report(raw)
        except (OSError, ValueError) as error:
            return {"error": f"reading {os.path.basename(out)}: {error}", "command": command, "wall_seconds": wall}
        return {"median_ms": median, "report": raw, "operators_slowest": operator_times(report)[:5],
                "wall_seconds": wall}


def run_groupconv_check(binary, folder, expected, timeout):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "y.npy")
        command = [binary, "run", os.path.join(folder, "model.onnx"), "--input",
                   os.path.join(folder, "input.npy"), "--output", out]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout} s"}
        except OSError as error:
            return {"error": str(error)}
        if done.returncode != 0:
            return {"error": f"exit {done.returncode}: {last_line(done.stderr) or last_line(done.stdout)}"}
        try:
            got = np.load(out)
        except (OSError, ValueError) as error:
            return {"error": f"reading the output: {error}"}
        if got.shape != expected.shape:
            return {"error": f"output shape {list(got.shape)}, expected {list(expected.shape)}"}
        return differences(got, expected)


def differences(got, expected):
    diff = float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64))))
    scale = max(float(np.max(np.abs(expected))), 1e-30)
    return {"max_abs_diff": diff, "max_rel_diff": diff / scale, "argmax_equal": bool(np.argmax(got) == np.argmax(expected))}


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def fmt(value, digits=2):
    return "—" if value is None else f"{value:.{digits}f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=os.path.join(package_root(), ".models"),
                        help="folder of model folders (default: .models/ at the package root)")
    parser.add_argument("--only", help="comma-separated model names")
    parser.add_argument("--groupconv", default=os.path.join(package_root(), ".build", "release", "groupconv"),
                        help="the groupconv binary (default .build/release/groupconv)")
    parser.add_argument("--peers-only", action="store_true", help="time ONNX Runtime alone")
    parser.add_argument("--check", action="store_true",
                        help="also run `groupconv run` and compare its output with PyTorch's")
    parser.add_argument("--threads", type=int, default=2, help="threads for both (default 2)")
    parser.add_argument("--warmup", type=int, default=5, help="ONNX Runtime warm-up runs (default 5)")
    parser.add_argument("--runs", type=int, default=20, help="ONNX Runtime timed runs at least, per round (default 20)")
    parser.add_argument("--min-seconds", type=float, default=3.0,
                        help="ONNX Runtime timed seconds at least, per round (default 3)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternations per model, A B B A ... (default 1: ONNX Runtime, then GroupConv)")
    parser.add_argument("--busy-cores", type=float, default=0.2,
                        help="other processes' CPU use, in cores, above which --retries re-measures (default 0.2)")
    parser.add_argument("--retries", type=int, default=0,
                        help="re-measure ONNX Runtime up to this many times while others were busy, "
                             "keeping the least disturbed attempt (default 0)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed a groupconv command (default 600)")
    parser.add_argument("--json", dest="json_out", help="write every number to this file")
    args = parser.parse_args()

    names = model_names(args.models, args.only)
    if not args.peers_only and not (os.path.isfile(args.groupconv) and os.access(args.groupconv, os.X_OK)):
        sys.exit(f"latency.py: no groupconv binary at {args.groupconv}: build it with "
                 "`swift build -c release --product groupconv`, pass --groupconv PATH, or use --peers-only")

    print(f"onnxruntime {ort.__version__}, {args.threads} threads, CPU {cpu_name()} ({os.cpu_count()} cores); "
          f"warm-up {args.warmup}, then >= {args.runs} runs and >= {args.min_seconds:g} s, {args.rounds} round(s); "
          f"load average {os.getloadavg()[0]:.2f} (other work on the machine skews both columns)",
          file=sys.stderr, flush=True)
    load_before = os.getloadavg()
    results = []
    for name in names:
        folder = os.path.join(args.models, name)
        x = np.load(os.path.join(folder, "input.npy"))
        expected_path = os.path.join(folder, "output.npy")
        expected = np.load(expected_path) if os.path.exists(expected_path) else None
        timer = OrtTimer(os.path.join(folder, "model.onnx"), x, args.threads)
        timer.warm_up(args.warmup)
        ours = []
        for round_index in range(args.rounds):
            order = ("ort", "ours") if round_index % 2 == 0 else ("ours", "ort")
            for who in order:
                if who == "ort":
                    timer.measure_quietest(args.runs, args.min_seconds, args.busy_cores, args.retries)
                elif not args.peers_only:
                    with OthersMeter() as meter:
                        result = run_groupconv_bench(args.groupconv, folder, args.threads, args.timeout)
                    # The bench ran in a child process: its CPU time is not this process's, so
                    # subtract the threads it was given, as if it kept them busy.
                    result["others_cores"] = None if meter.cores is None else max(0.0, meter.cores - args.threads)
                    ours.append(result)
        entry = {"name": name, "ort": {
            "median_ms": statistics.median(timer.samples), "min_ms": min(timer.samples),
            "mean_ms": statistics.fmean(timer.samples), "runs": len(timer.samples),
            "others_cores": timer.others}}
        if expected is not None:
            entry["ort"]["vs_pytorch"] = differences(timer.output, expected)
        if not args.peers_only:
            good = [r for r in ours if "median_ms" in r]
            entry["groupconv"] = {"rounds": ours,
                                  "median_ms": statistics.median(r["median_ms"] for r in good) if good else None,
                                  "error": None if good else ours[-1].get("error") if ours else "not run"}
            if good:
                entry["ratio"] = entry["groupconv"]["median_ms"] / entry["ort"]["median_ms"]
            if args.check:
                entry["check"] = (run_groupconv_check(args.groupconv, folder, expected, args.timeout)
                                  if expected is not None else {"error": "no output.npy"})
        del timer
        results.append(entry)
        others = ", ".join("?" if o is None else f"{o:.2f}" for o in entry["ort"]["others_cores"])
        line = (f"{name}: ONNX Runtime {entry['ort']['median_ms']:.2f} ms ({entry['ort']['runs']} runs, "
                f"min {entry['ort']['min_ms']:.2f}; other processes used {others} cores meanwhile)")
        if "groupconv" in entry:
            g = entry["groupconv"]
            line += (f", GroupConv {g['median_ms']:.2f} ms, ratio {entry['ratio']:.2f}" if g["median_ms"] is not None
                     else f", GroupConv failed: {g['error']}")
            slowest = next((r["operators_slowest"] for r in reversed(g["rounds"]) if r.get("operators_slowest")), [])
            if slowest:
                line += "; slowest: " + ", ".join(f"{n} {ms:.2f} ms" for n, ms in slowest[:3])
        if "check" in entry:
            c = entry["check"]
            line += (f"; check max|diff| {c['max_abs_diff']:.3g}" if "error" not in c else f"; check failed: {c['error']}")
        print(line, file=sys.stderr, flush=True)

    header = "| model | GroupConv ms | ORT ms | ratio (ours/ORT) |"
    rule = "|---|---:|---:|---:|"
    if args.check:
        header += " GroupConv vs PyTorch max abs diff | ORT vs PyTorch max abs diff |"
        rule += "---:|---:|"
    print(header)
    print(rule)
    for entry in results:
        g = entry.get("groupconv") or {}
        ours_ms = fmt(g.get("median_ms")) if g.get("median_ms") is not None else ("error" if g else "—")
        row = f"| {entry['name']} | {ours_ms} | {entry['ort']['median_ms']:.2f} | {fmt(entry.get('ratio'))} |"
        if args.check:
            c = entry.get("check", {})
            ort_diff = entry["ort"].get("vs_pytorch", {}).get("max_abs_diff")
            row += (f" {c['max_abs_diff']:.3g} |" if "max_abs_diff" in c else f" {c.get('error', '—')} |")
            row += f" {ort_diff:.3g} |" if ort_diff is not None else " — |"
        print(row)
    failures = [(e["name"], e["groupconv"]["error"]) for e in results
                if e.get("groupconv") and e["groupconv"]["median_ms"] is None]
    if failures:
        print()
        for name, error in failures:
            print(f"* {name}: GroupConv failed: {error}")

    if args.json_out:
        document = {
            "settings": {"threads": args.threads, "warmup": args.warmup, "runs": args.runs,
                         "busy_cores": args.busy_cores, "retries": args.retries,
                         "min_seconds": args.min_seconds, "rounds": args.rounds,
                         "peers_only": args.peers_only, "groupconv": None if args.peers_only else args.groupconv},
            "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "platform": platform.platform(),
                        "load_average_before": load_before, "load_average_after": os.getloadavg()},
            "versions": {"onnxruntime": ort.__version__, "numpy": np.__version__},
            "models": results,
        }
        with open(args.json_out, "w") as f:
            json.dump(document, f, indent=1)
        print(f"wrote {args.json_out}", file=sys.stderr)


if __name__ == "__main__":
    main()
