"""kapre._cpu: the machine facts the speed rules read, and the rules (issue 25: one place for CPU-dependent
choices)."""

from __future__ import annotations

import keras
import pytest

from kapre import _backend, _cpu

X86_AVX2 = _cpu.CpuFacts(machine="x86_64", flags=frozenset({"avx2", "fma"}), l2_bytes=512 << 10, usable_cpus=2)
X86_AVX512 = _cpu.CpuFacts(machine="x86_64", flags=frozenset({"avx2", "fma", "avx512f"}), l2_bytes=1 << 20,
                           usable_cpus=2)
ARM = _cpu.CpuFacts(machine="aarch64", flags=frozenset({"asimd"}), l2_bytes=None, usable_cpus=4)


def test_flags_are_read_from_cpuinfo_text():
    text = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse avx2 fma avx512f\n\nprocessor\t: 1\n"
    assert _cpu._cpuinfo_flags(text) == frozenset({"fpu", "sse", "avx2", "fma", "avx512f"})
    assert _cpu._cpuinfo_flags("Features\t: fp asimd\n") == frozenset({"fp", "asimd"})
    assert _cpu._cpuinfo_flags("") == frozenset()


def test_facts_of_this_machine_are_consistent():
    facts = _cpu.facts()
    assert facts.usable_cpus >= 1
    assert facts.l2_bytes is None or facts.l2_bytes >= 64 << 10
    assert _cpu.facts() is facts  # read once


@pytest.mark.parametrize(("cpu", "uses_mkl", "expected"), [
    (X86_AVX2, True, 16), (X86_AVX512, True, 16), (X86_AVX2, False, 1), (ARM, True, 1), (ARM, False, 1),
])
def test_matmul_width_rule(cpu, uses_mkl, expected):
    assert _cpu.matmul_width_multiple(uses_mkl, cpu) == expected


def test_the_backend_takes_its_width_from_the_rule():
    if keras.backend.backend() == "torch":
        import torch

        expected = _cpu.matmul_width_multiple(torch.backends.mkl.is_available())
    else:
        expected = 1
    assert expected == _backend.MATMUL_WIDTH_MULTIPLE


@pytest.mark.parametrize(("l3_mib", "expected"), [(32, 2**20), (16, 2**19), (8, 2**18), (256, 2**21), (2, 2**18)])
def test_chunk_rule_takes_a_third_of_the_last_level_cache(l3_mib, expected):
    cpu = _cpu.CpuFacts(machine="x86_64", flags=frozenset(), l2_bytes=None, usable_cpus=2, l3_bytes=l3_mib << 20)
    assert _cpu.chunk_samples(cpu) == expected
    assert expected * _cpu.CHUNK_BYTES_PER_SAMPLE <= max(l3_mib << 20, 3 * 2**18 * _cpu.CHUNK_BYTES_PER_SAMPLE) / 3


def test_chunk_rule_without_a_known_cache_and_the_frames_module_takes_it():
    from kapre import _frames

    assert _cpu.chunk_samples(ARM) == _cpu.CHUNK_SAMPLES_UNKNOWN_CACHE
    assert _frames.CHUNK_SAMPLES == _cpu.chunk_samples()
