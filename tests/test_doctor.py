"""CPU flags and what they decide: the fast mode per flag set, the warning for an emulated precision, and
``sbert doctor``. Flags are injected (a /proc/cpuinfo text, or $SBERT_CPU_FLAGS), so every CPU is tested on
whatever machine runs the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest
from conftest import BLOCK_TORCH, classic_pooling

from sbert._backends.cpu import (
    FAST_MODE_RULES,
    FLAGS_ENV,
    RELEVANT_FLAGS,
    ZEN2_MARK,
    compute_threads,
    cpu_flags,
    cpu_has_fast_bf16,
    fast_mode,
    fast_precision,
    int8_weight_bits,
    slow_precision_warning,
)

X86_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse2 avx avx2 fma avx512f {extra}
bogomips\t: 4000.00
"""
# An EPYC's /proc/cpuinfo: ``family`` 23 (17h) is Zen / Zen 2, 25 (19h) Zen 3 / Zen 4.
EPYC_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: {family}
model\t\t: 49
model name\t: AMD EPYC 7B12
flags\t\t: fpu sse2 avx avx2 fma {extra}
"""
ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm {extra}
CPU implementer\t: 0x41
"""


@pytest.mark.parametrize(
    ("cpuinfo", "precision", "rule"),
    [
        (X86_CPUINFO.format(extra="avx512_vnni avx512_bf16 amx_bf16 amx_int8 amx_tile"), "int8", "amx_int8"),
        (X86_CPUINFO.format(extra="avx512_vnni avx512_bf16"), "int8", "avx512_vnni"),  # Zen 4
        (X86_CPUINFO.format(extra="avx512_vnni"), "int8", "avx512_vnni"),
        (X86_CPUINFO.format(extra="avx_vnni").replace("avx512f ", ""), "int8", "avx_vnni"),
        (X86_CPUINFO.format(extra="").replace("avx512f ", ""), "int8", "avx2"),  # an AVX2-only Intel
        (EPYC_CPUINFO.format(family=23, extra=""), "fp32", ZEN2_MARK),  # Zen 2: int8 no faster
        (EPYC_CPUINFO.format(family=25, extra=""), "int8", "avx2"),  # Zen 3: AVX2 only, not family 17h
        (EPYC_CPUINFO.format(family=25, extra="avx512f avx512_vnni avx512_bf16"), "int8", "avx512_vnni"),
        (X86_CPUINFO.format(extra="").replace(" avx2 fma avx512f", ""), "fp32", None),  # x86 without AVX2
        (ARM_CPUINFO.format(extra="asimddp"), "int8", "asimddp"),
        (ARM_CPUINFO.format(extra=""), "fp32", None),
        ("", "fp32", None),  # flags unknown
    ],
    ids=[
        "amx",
        "avx512-bf16",
        "avx512-vnni",
        "avx-vnni",
        "avx2-only",
        "zen2",
        "zen3",
        "zen4",
        "no-avx2",
        "arm-dotprod",
        "arm",
        "none",
    ],
)
def test_the_fast_mode_follows_the_cpu_flags(cpuinfo, precision, rule, monkeypatch):
    flags = cpu_flags(cpuinfo)
    chosen = fast_mode(flags)
    assert (chosen.precision, chosen.flag) == (precision, rule)
    monkeypatch.setenv(FLAGS_ENV, ",".join(sorted(flags)))  # the same CPU through the environment
    assert fast_precision() == fast_precision("cpu") == precision
    assert cpu_has_fast_bf16() == bool(flags & {"amx_bf16", "avx512_bf16"})
    assert fast_precision("cuda:0") == "bf16"  # an accelerator: bf16 whatever the host CPU


@pytest.mark.parametrize(
    ("cpuinfo", "bits"),
    [
        (X86_CPUINFO.format(extra="avx512_vnni avx512_bf16 amx_bf16 amx_int8 amx_tile"), 8),
        (X86_CPUINFO.format(extra="avx512_vnni"), 8),
        (X86_CPUINFO.format(extra="avx_vnni").replace("avx512f ", ""), 8),
        (X86_CPUINFO.format(extra="avx512bw avx512vl"), 7),  # Skylake-SP: AVX-512 without VNNI
        (X86_CPUINFO.format(extra="").replace("avx512f ", ""), 7),  # the AVX2-only EPYC
        (ARM_CPUINFO.format(extra="asimddp"), 8),
        (ARM_CPUINFO.format(extra=""), 7),
        ("", 7),  # flags unknown: the bits that cannot saturate
    ],
    ids=["amx", "avx512-vnni", "avx-vnni", "avx512-without-vnni", "avx2-only", "arm-dotprod", "arm", "none"],
)
def test_int8_weights_have_7_bits_without_an_int8_dot_product_unit(cpuinfo, bits, monkeypatch):
    flags = cpu_flags(cpuinfo)
    assert int8_weight_bits(flags) == bits
    monkeypatch.setenv(FLAGS_ENV, ",".join(sorted(flags)))
    assert int8_weight_bits() == bits


def test_no_cpu_gets_bf16_as_its_fast_mode():
    # int8 measured faster than bf16 on AMX and on AVX512-BF16 CPUs: bf16 units alone do not select bf16
    flags = cpu_flags(X86_CPUINFO.format(extra="avx512_vnni avx512_bf16 amx_bf16"))
    assert fast_mode(flags).flag == "avx512_vnni"
    assert fast_mode(frozenset({"avx512_bf16"})).precision == "fp32"
    assert all(rule.precision != "bf16" for rule in FAST_MODE_RULES)


def test_cpu_flags_read_this_machine_unless_overridden(monkeypatch):
    monkeypatch.delenv(FLAGS_ENV, raising=False)
    if sys.platform == "linux":
        assert cpu_flags(), "this Linux machine's /proc/cpuinfo has flags"
    monkeypatch.setenv(FLAGS_ENV, "AVX2, fma  avx512_vnni")
    assert cpu_flags() == {"avx2", "fma", "avx512_vnni"}


@pytest.mark.parametrize(
    ("flags", "precision", "device", "faster"),
    [
        ("avx avx2 fma", "bf16", "cpu", "precision='int8'"),
        ("avx avx2 fma", "fp16", "cpu", "precision='int8'"),
        ("sse2 avx", "bf16", "cpu", "precision='fp32'"),
        ("avx2 avx512_vnni avx512_bf16", "fp16", "cpu", "precision='int8'"),
        ("avx2 avx512_vnni amx_bf16", "fp16", "cpu", "precision='int8'"),
        ("avx2 avx512_vnni avx512_bf16", "bf16", "cpu", None),
        ("avx2 amx_bf16 amx_fp16", "fp16", "cpu", None),
        ("avx avx2 fma", "fp32", "cpu", None),
        ("avx avx2 fma", "int8", "cpu", None),
        ("avx avx2 fma", "bf16", "cuda:0", None),  # the GPU's own bf16 units
        ("", "bf16", "cpu", None),  # flags unknown: no guess
    ],
)
def test_an_emulated_precision_names_the_faster_choice(flags, precision, device, faster, monkeypatch):
    monkeypatch.setenv(FLAGS_ENV, flags)
    message = slow_precision_warning(precision, device)
    if faster is None:
        assert message is None
    else:
        assert message.startswith(f"precision={precision!r} runs emulated on this CPU")
        assert faster in message and "sbert doctor" in message


def test_the_warning_comes_once_per_process_at_the_callers_line(tiny_st_factory, monkeypatch):
    import sbert._backends
    from sbert import SentenceTransformer

    monkeypatch.setattr(sbert._backends, "_WARNED_SLOW", set())  # as in a fresh process
    path = tiny_st_factory(classic_pooling(32, "mean"))
    monkeypatch.setenv(FLAGS_ENV, "avx avx2 fma")
    with pytest.warns(UserWarning, match="precision='bf16' runs emulated") as caught:
        SentenceTransformer(path, device="cpu", precision="bf16")
        SentenceTransformer(path, device="cpu", precision="bf16")  # a second model: no second warning
    assert len(caught) == 1 and caught[0].filename == __file__
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        SentenceTransformer(path, device="cpu", precision="bf16")
        SentenceTransformer(path, device="cpu", backend="torch")  # fp32: nothing to say
    assert later == []
    monkeypatch.setattr(sbert._backends, "_WARNED_SLOW", set())
    monkeypatch.setenv(FLAGS_ENV, "avx2 avx512_bf16")
    with warnings.catch_warnings(record=True) as native:
        warnings.simplefilter("always")
        SentenceTransformer(path, device="cpu", precision="bf16")  # native bf16 units: runs fast
    assert native == []


def _doctor(capsys, *argv):
    from sbert._cli import main

    status = main(["doctor", "--seconds", "0.5", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_doctor_json_reports_the_machine_and_probes_both_modes(tiny_st_factory, monkeypatch, capsys):
    from sbert import __version__

    monkeypatch.setenv(FLAGS_ENV, "avx avx2 fma avx512f avx512_vnni avx512_bf16")
    status, out, _ = _doctor(capsys, "--json", "--model", str(tiny_st_factory(classic_pooling(32, "mean"))))
    assert status == 0
    report = json.loads(out)
    assert {"versions", "cpu", "threads", "extras", "model", "fast_mode", "auto", "fast_probe"} <= set(report)
    assert report["versions"]["sbert"] == __version__ and report["versions"]["numpy"][0].isdigit()
    cpu = report["cpu"]
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16")
    assert cpu["flags"] == {flag: flag in wanted for flag in RELEVANT_FLAGS}
    assert cpu["flags_from"] == f"${FLAGS_ENV}" and cpu["available_cpus"] >= 1
    threads = report["threads"]
    assert threads["torch"] >= 1 and 1 <= threads["onnxruntime"] == compute_threads() <= cpu["available_cpus"]
    assert report["extras"]["onnx"] is True and set(report["extras"]) >= {"server", "search", "train", "ray"}
    rule = fast_mode(frozenset(wanted))
    expected = {"precision": "int8", "rule": "avx512_vnni", "why": rule.why, "int8_weight_bits": 8}
    assert report["fast_mode"] == expected
    # auto and the fast mode: the BERT model's graphs, built from its files
    assert (report["auto"]["backend"], report["auto"]["precision"]) == ("onnx", "fp32")
    assert (report["fast_probe"]["backend"], report["fast_probe"]["precision"]) == ("onnx", "int8")
    for probe in (report["auto"], report["fast_probe"]):
        # the rate is what was counted over what was measured (no bound on the duration or the rate)
        assert probe["texts"] >= 64
        assert probe["texts_per_s"] == pytest.approx(probe["texts"] / probe["seconds"], rel=0.01, abs=0.1)


def test_doctor_names_the_flags_and_the_rule(tiny_st_factory, monkeypatch, capsys):
    monkeypatch.setenv(FLAGS_ENV, "sse2 avx fma")  # x86 without AVX2: the fast mode stays fp32
    status, out, _ = _doctor(capsys, "--model", str(tiny_st_factory(classic_pooling(32, "mean"))))
    assert status == 0
    lines = dict(line.split(None, 1) for line in out.splitlines() if not line.startswith("fast "))
    assert lines["flags"].startswith("fma; absent: avx2 avx512f avx512_vnni")
    assert "fast mode   fp32, rule none: no AVX2, VNNI or bf16 flag" in out
    auto = lines["auto"]
    assert auto.startswith("backend onnx, fp32 on cpu: ") and auto.endswith(" s)") and " texts/s (" in auto
    assert f"fast probe  {auto}" in out  # fp32 is the fast mode here: the same model and figures


def test_doctor_says_an_avx2_cpu_gets_7_bit_int8_weights(tiny_st_factory, monkeypatch, capsys):
    monkeypatch.setenv(FLAGS_ENV, "avx avx2 fma")
    status, out, _ = _doctor(capsys, "--model", str(tiny_st_factory(classic_pooling(32, "mean"))))
    assert status == 0
    (line,) = [line for line in out.splitlines() if line.startswith("fast mode ")]
    assert line.startswith("fast mode   int8, rule avx2: AVX2 only")
    assert line.endswith(" (7-bit int8 weights)")


@pytest.mark.parametrize("seconds", ["inf", "nan", "3601", "0", "-1"])
def test_doctor_probe_option_must_be_finite_positive_and_bounded(seconds, model_loads, capsys):
    status, out, err = _doctor(capsys, f"--seconds={seconds}")
    assert status == 2 and out == "" and model_loads == []
    expected = f"argument --seconds: expected a number of seconds above 0 and at most 3600, got {seconds!r}"
    assert expected in err


def test_doctor_on_a_model_that_does_not_load_is_one_line(tmp_path, capsys):
    status, out, err = _doctor(capsys, "--model", str(tmp_path / "missing"))
    assert status == 2 and out == ""
    assert err.startswith("sbert: error: ") and err.count("\n") == 1


def test_doctor_without_torch_imports_none_and_keeps_the_fast_mode():
    script = BLOCK_TORCH + (
        "import json\n"
        "from sbert._cli.doctor import machine_report\n"
        "report = machine_report()\n"
        "assert not any(m.split('.')[0] in ('torch', 'transformers') for m in sys.modules)\n"
        "print(json.dumps(report))\n"
    )
    env = {**os.environ, FLAGS_ENV: "avx2 avx512_vnni avx512_bf16 amx_bf16 amx_int8"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["threads"]["torch"] is None and report["extras"]["torch"] is False
    assert (report["fast_mode"]["precision"], report["fast_mode"]["rule"]) == ("int8", "amx_int8")


def test_doctor_says_whether_the_graph_cache_can_be_written(tmp_path, monkeypatch):
    from sbert._cli.doctor import machine_report, render

    writable = tmp_path / "cache"
    monkeypatch.setenv("SBERT_CACHE", str(writable))
    assert machine_report()["cache"] == {"path": str(writable), "writable": True}
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SBERT_CACHE", str(blocker / "cache"))  # mkdir fails there, even for root
    report = machine_report()
    assert report["cache"] == {"path": str(blocker / "cache"), "writable": False}
    report.update(
        model="m", auto={"precision": "fp32", "error": "-"}, fast_probe={"precision": "fp32", "error": "-"}
    )
    line = next(line for line in render(report).splitlines() if line.startswith("cache"))
    assert "cannot be written" in line and "SBERT_CACHE" in line
