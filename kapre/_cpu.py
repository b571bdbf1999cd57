"""The machine facts kapre's speed choices depend on, and the rules that turn them into choices: the one place
where a choice depends on the CPU (ISA, caches, threads), so that no constant is fitted to one machine elsewhere.

Each rule says what it was measured on; ``benchmarks/README.md`` ("The rules the code follows") has the
measurements, and ``benchmarks/run.py`` re-measures them natively and with AVX-512 switched off.
"""

from __future__ import annotations

import functools
import os
import platform
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuFacts", "chunk_samples", "facts", "matmul_width_multiple"]

# MKL's single-precision matmul micro-kernels on x86 produce 16 output columns at a time: two 8-float registers
# in its AVX2 kernels, one 16-float register in its AVX-512 ones.
MKL_SGEMM_COLUMNS = 16

# A chunk of framed samples holds about this many bytes per sample while it is processed: the windowed frames
# (4), the complex spectrum (4: n_fft // 2 + 1 complex values per n_fft samples) and the power (2).
CHUNK_BYTES_PER_SAMPLE = 10
CHUNK_SAMPLES_RANGE = (2**18, 2**21)  # measured 2**16 to 2**23 (W1, W2 on PyTorch): beyond this range, only slower
CHUNK_SAMPLES_UNKNOWN_CACHE = 2**20


@dataclass(frozen=True)
class CpuFacts:
    """What the rules read: the architecture, the x86 SIMD flags (empty elsewhere or where unreadable), the L2
    cache of one core in bytes (None where unknown) and the CPUs this process may use."""

    machine: str
    flags: frozenset[str]
    l2_bytes: int | None
    usable_cpus: int
    l3_bytes: int | None = None

    @property
    def x86(self) -> bool:
        return self.machine.lower() in ("x86_64", "amd64", "i386", "i686")


def _cpuinfo_flags(text: str) -> frozenset[str]:
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return frozenset(value.split())
    return frozenset()


def _cache_bytes(level: int) -> int | None:
    """The size of CPU 0's level-``level`` data or unified cache from sysfs (Linux), else None."""
    root = Path("/sys/devices/system/cpu/cpu0/cache")
    try:
        for index in sorted(root.glob("index*")):
            if int((index / "level").read_text()) == level and (index / "type").read_text().strip() != "Instruction":
                size = (index / "size").read_text().strip().upper()
                scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(size[-1:], 1)
                return int(size.rstrip("KMG")) * scale
    except (OSError, ValueError):
        return None
    return None


@functools.cache
def facts() -> CpuFacts:
    """This machine's :class:`CpuFacts`, read once per process."""
    try:
        flags = _cpuinfo_flags(Path("/proc/cpuinfo").read_text())
    except OSError:
        flags = frozenset()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return CpuFacts(machine=platform.machine(), flags=flags, l2_bytes=_cache_bytes(2), usable_cpus=usable,
                    l3_bytes=_cache_bytes(3))


def matmul_width_multiple(uses_mkl: bool, cpu: CpuFacts | None = None) -> int:
    """The output width (columns) that a backend's float32 matmul is fastest at multiples of: the filterbank
    blocks of :class:`kapre.MelSpectrogram` are sized and zero-padded to it (1: as they are).

    Rule: :data:`MKL_SGEMM_COLUMNS` (16) where the matmul is Intel MKL's on x86, with AVX2 or AVX-512 alike;
    1 elsewhere (XLA's, TensorFlow's and other BLAS libraries' matmuls showed no such steps, and on other
    architectures it is unmeasured). Measured on a 2-core AMD EPYC with AVX-512, where MKL runs its AVX2 kernels
    (``mkl_blas_def_sgemm_kernel_0_zen``) natively and with every AVX-512 switch off: a (1536, 89) chunk times
    (89, N) took 30-36 us at N = 16, 49-54 at 24, 53-63 at 32, 65-76 at 22, 82-85 at 48, 93-101 at 42.
    """
    cpu = facts() if cpu is None else cpu
    return MKL_SGEMM_COLUMNS if uses_mkl and cpu.x86 else 1


def chunk_samples(cpu: CpuFacts | None = None) -> int:
    """How many framed samples kapre processes at a time where it works a chunk of frames at a time
    (:data:`kapre._frames.CHUNK_SAMPLES`), so that a chunk's intermediates stay in the CPU cache.

    Rule: the power of two whose working set (:data:`CHUNK_BYTES_PER_SAMPLE` bytes per sample) is closest below a
    third of the last-level cache (the rest is left to the input, the output and other threads), within
    :data:`CHUNK_SAMPLES_RANGE`; :data:`CHUNK_SAMPLES_UNKNOWN_CACHE` where the cache size is unknown. Measured on a
    2-core AMD EPYC with a 32 MiB L3 (the rule gives 2**20): 2**20 was the fastest of 2**16 to 2**23 for the mel
    path on PyTorch on both benchmark workloads (W2 median 4.3 ms against 4.9-5.2 ms at 2**21 to 2**23; W1 18.5 ms
    against 25-27 ms at 2**22 and 2**23).
    """
    cpu = facts() if cpu is None else cpu
    if not cpu.l3_bytes:
        return CHUNK_SAMPLES_UNKNOWN_CACHE
    fits = cpu.l3_bytes // 3 // CHUNK_BYTES_PER_SAMPLE
    low, high = CHUNK_SAMPLES_RANGE
    return min(high, max(low, 1 << max(0, fits.bit_length() - 1)))
