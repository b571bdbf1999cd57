"""The ISA switches of the benchmark (``benchmarks/isa.py``, issue 25): the parsers on captured library output
(MKL_VERBOSE, ONEDNN_VERBOSE, objdump, TensorFlow's startup message, perf), the honoured/not-honoured verdict and
its table; and, on a CPU with AVX-512, that each backend's switches turn it off (a child process per run, only in
the matching backend's session; NumPy's in the JAX session)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import BACKEND

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import isa  # noqa: E402


def _cpu_has_avx512() -> bool:
    try:
        return " avx512f " in Path("/proc/cpuinfo").read_text().replace("\n", " ")
    except OSError:
        return False


needs_avx512 = pytest.mark.skipif(not _cpu_has_avx512(), reason="no avx512f in /proc/cpuinfo: nothing to turn off")

# Captured on this project's machines: an AMD EPYC with AVX-512 (MKL's header names no ISA there) and the header
# format MKL prints on Intel CPUs.
MKL_AMD = ("MKL_VERBOSE oneMKL 2024.0 Update 2 Product build 20240605 for Intel(R) 64 architecture Intel(R) "
           "Architecture processors, Lnx 2.60GHz lp64 gnu_thread\nMKL_VERBOSE SGEMM(N,N,300,300,300,...) 16.37ms")
MKL_INTEL_512 = ("MKL_VERBOSE oneMKL 2024.0 Product build 20231011 for Intel(R) 64 architecture Intel(R) Advanced "
                 "Vector Extensions 512 (Intel(R) AVX-512) with support of Intel(R) Deep Learning Boost (Intel(R) "
                 "DL Boost), Lnx 3.00GHz lp64 intel_thread")
MKL_INTEL_AVX2 = ("MKL_VERBOSE oneMKL 2024.0 Product build 20231011 for Intel(R) 64 architecture Intel(R) Advanced "
                  "Vector Extensions 2 (Intel(R) AVX2) enabled processors, Lnx 3.00GHz lp64 intel_thread")
ONEDNN_NATIVE = """onednn_verbose,v1,info,oneDNN v3.12.0 (commit 80afa71049cd69a3df32adcccb623b12cd7baa22)
onednn_verbose,v1,info,cpu,runtime:OpenMP,nthr:2
onednn_verbose,v1,info,cpu,isa:Intel AVX-512 with Intel DL Boost and bfloat16 support
onednn_verbose,v1,primitive,exec,cpu,reorder,jit:blk,undef,src:f32::blocked:abcd::f0 dst:f32::blocked:aBcd16b::f0,,,1
onednn_verbose,v1,primitive,exec,cpu,convolution,jit:avx512_core,forward_training,src:f32:a:blocked:aBcd16b::f0,,,2
"""
ONEDNN_SWITCHED = """onednn_verbose,v1,info,cpu,isa:Intel AVX2
onednn_verbose,v1,primitive,exec,cpu,convolution,jit:avx2,forward_training,src:f32:a:blocked:aBcd8b::f0,,,2.1
"""
DNNL_OLD = "dnnl_verbose,info,cpu,isa:Intel AVX-512 with AVX512BW, AVX512VL, and AVX512DQ extensions\n"
TF_GUARD = ("I0000 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions "
            "in performance-critical operations.\nTo enable the following instructions: AVX2 AVX512F AVX512_VNNI "
            "AVX512_BF16 AVX_VNNI FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.")
OBJDUMP = """
  40:	vmovups (%rdi),%ymm0
  44:	vfmadd231ps %ymm1,%ymm2,%ymm0
  4a:	vmovups %zmm3,(%rsi)
  50:	vaddps %ymm17,%ymm2,%ymm18{%k1}
  56:	kmovw  %k2,%eax
  5a:	vmovaps %xmm1,%xmm15
"""
PERF_REPORT = """# Overhead  Symbol
#
    12.29%  [.] gc_collect_main
     3.97%  [.] ynn::dot_fp32_5x16x4_1x4x4_avx512
     3.44%  [.] mkl_blas_def_sgemm_kernel_0_zen
     1.04%  [.] ducc0::detail_fft::copy_input<ducc0::detail_simd::vtp<float, 8ul>, ducc0::detail_fft::multi_iter<8ul> >
     0.04%  [.] dnnl::impl::cpu::x64::jit_avx2_f32_copy_an_kern::generate
"""


def test_mkl_header_names_the_isa_and_amd_gets_the_generic_path():
    assert isa.mkl_isa(MKL_INTEL_512).startswith("Intel(R) Advanced Vector Extensions 512")
    assert isa.mkl_uses_avx512(isa.mkl_isa(MKL_INTEL_512)) is True
    assert isa.mkl_uses_avx512(isa.mkl_isa(MKL_INTEL_AVX2)) is False
    assert isa.mkl_isa(MKL_AMD) == "Intel(R) Architecture processors"
    assert isa.mkl_uses_avx512(isa.mkl_isa(MKL_AMD)) is False
    assert isa.mkl_isa("no verbose output") is None and isa.mkl_uses_avx512(None) is None


def test_onednn_isa_line_and_implementations():
    assert isa.onednn_isa(ONEDNN_NATIVE) == "Intel AVX-512 with Intel DL Boost and bfloat16 support"
    assert isa.onednn_uses_avx512(isa.onednn_isa(ONEDNN_NATIVE)) is True
    assert isa.onednn_isa(ONEDNN_SWITCHED) == "Intel AVX2"
    assert isa.onednn_uses_avx512(isa.onednn_isa(ONEDNN_SWITCHED)) is False
    assert isa.onednn_uses_avx512(isa.onednn_isa(DNNL_OLD)) is True  # oneDNN < 3's prefix and format
    assert isa.onednn_implementations(ONEDNN_NATIVE) == ["convolution:jit:avx512_core"]  # reorders left out
    assert isa.onednn_implementations(ONEDNN_SWITCHED) == ["convolution:jit:avx2"]
    assert isa.onednn_isa("") is None


def test_avx512_operands_counts_only_evex_registers():
    # zmm3; ymm17, ymm18, k1; k2 -- not ymm0-15 / xmm15 (VEX, AVX2)
    assert isa.avx512_operands(OBJDUMP) == 5
    assert isa.avx512_operands("vaddps %ymm1,%ymm2,%ymm15\nvmovaps %xmm0,%xmm1") == 0


def test_tensorflow_startup_message_lists_the_instructions_its_kernels_lack():
    assert isa.tf_unused_instructions(TF_GUARD) == ["AVX2", "AVX512F", "AVX512_VNNI", "AVX512_BF16", "AVX_VNNI",
                                                    "FMA"]
    assert isa.tf_unused_instructions("no such message") is None


def test_perf_kernels_and_the_isa_their_names_tell():
    kernels = isa.perf_kernels(PERF_REPORT)
    assert [k.split("<")[0] for k in kernels] == [
        "ynn::dot_fp32_5x16x4_1x4x4_avx512", "mkl_blas_def_sgemm_kernel_0_zen", "ducc0::detail_fft::copy_input",
        "dnnl::impl::cpu::x64::jit_avx2_f32_copy_an_kern::generate"]  # not Python's gc_collect_main
    assert [isa.kernel_isa(k) for k in kernels] == ["AVX-512", "AVX2", "AVX2", "AVX2"]
    assert isa.kernel_isa("mkl_blas_avx512_sgemm_kernel_0") == "AVX-512"
    assert isa.kernel_isa("mkl_dft_def_owns_cRadix4FwdNorm_32fc") == "generic"
    assert isa.kernel_isa("openblas SkylakeX") == "AVX-512" and isa.kernel_isa("openblas Haswell") == "AVX2"


def test_a_switch_that_did_nothing_is_not_honoured():
    assert isa.honoured(True, False) is True
    assert isa.honoured(True, True) is False
    assert isa.honoured(False, False) is None  # no AVX-512 natively: nothing to show
    assert isa.honoured(True, None) is None
    native = {"oneDNN (PyTorch)": ("isa: Intel AVX-512", True), "PyTorch ATen kernels": ("AVX512", True),
              "ducc FFT (JAX)": ("perf: vtp<float, 8ul>", False), "TensorFlow Eigen kernels": ("avx512", True)}
    switched = {"oneDNN (PyTorch)": ("isa: Intel AVX-512", True), "PyTorch ATen kernels": ("AVX2", False),
                "ducc FFT (JAX)": ("perf: vtp<float, 8ul>", False), "TensorFlow Eigen kernels": ("avx512", True)}
    rows = isa.compare(native, switched, isa.AVX2_ENV)
    assert rows["oneDNN (PyTorch)"] == {"switch": "ONEDNN_MAX_CPU_ISA=AVX2", "native": "isa: Intel AVX-512",
                                        "with_switch": "isa: Intel AVX-512", "honoured": False}
    assert rows["PyTorch ATen kernels"]["honoured"] is True
    assert rows["PyTorch ATen kernels"]["switch"] == "ATEN_CPU_CAPABILITY=avx2"
    assert rows["ducc FFT (JAX)"]["switch"] == "none" and rows["ducc FFT (JAX)"]["honoured"] is None
    assert rows["TensorFlow Eigen kernels"]["honoured"] is False  # AVX-512 with no switch to turn it off


def test_report_table_renders_every_row():
    rows = {"oneDNN (PyTorch)": {"switch": "ONEDNN_MAX_CPU_ISA=AVX2", "native": "isa: Intel AVX-512",
                                 "with_switch": "isa: Intel AVX2", "honoured": True},
            "Intel MKL (PyTorch matmul, FFT)": {"switch": "MKL_ENABLE_INSTRUCTIONS=AVX2", "native": "a | b",
                                                "with_switch": "a | b", "honoured": False},
            "ducc FFT (JAX)": {"switch": "none", "native": "x", "with_switch": "x", "honoured": None}}
    lines = isa.report_lines(rows)
    assert lines[0] == "| library | switch | native | with the switch | honoured |"
    assert lines[2] == "| oneDNN (PyTorch) | `ONEDNN_MAX_CPU_ISA=AVX2` | isa: Intel AVX-512 | isa: Intel AVX2 | yes |"
    assert lines[3].endswith("| a \\| b | a \\| b | **no** |")  # a pipe in a cell does not split it
    assert lines[4] == "| ducc FFT (JAX) | none | x | x | n/a |"
    assert len(lines) == 2 + len(rows)


def test_avx2_env_has_each_library_switch_and_native_strips_them(monkeypatch):
    assert isa.AVX2_ENV["MKL_ENABLE_INSTRUCTIONS"] == "AVX2" and isa.AVX2_ENV["ATEN_CPU_CAPABILITY"] == "avx2"
    assert isa.AVX2_ENV["ONEDNN_MAX_CPU_ISA"] == "AVX2" and "--xla_cpu_max_isa=AVX2" in isa.AVX2_ENV["XLA_FLAGS"]
    assert all(key in isa.AVX2_ENV for key in filter(None, isa.SWITCHES.values()))
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=AVX2 --xla_force_host_platform_device_count=2")
    env = isa._base_environment()
    assert "ONEDNN_MAX_CPU_ISA" not in env  # "native" is native even when the caller runs capped
    assert env["XLA_FLAGS"] == "--xla_force_host_platform_device_count=2"


# --- the switches on this machine: one backend per session, a child process per run ---------------------------

@needs_avx512
@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch's switches: probed in the PyTorch session")
def test_torch_aten_and_onednn_honour_their_switches():
    rows = isa.probe("torch")
    aten = rows["PyTorch ATen kernels"]
    assert (aten["native"], aten["with_switch"], aten["honoured"]) == (
        "get_cpu_capability() = AVX512", "get_cpu_capability() = AVX2", True)
    onednn = rows["oneDNN (PyTorch)"]
    assert "AVX-512" in onednn["native"] and "isa: Intel AVX2" in onednn["with_switch"], onednn
    assert onednn["honoured"] is True
    assert "MKL_VERBOSE: " in rows["Intel MKL (PyTorch matmul, FFT)"]["native"]  # MKL said which path it took


@needs_avx512
@pytest.mark.skipif(BACKEND != "jax", reason="JAX's switches: probed in the JAX session")
def test_jax_codegen_dot_and_onednn_leave_avx512():
    rows = isa.probe("jax")
    assert rows["XLA codegen (JAX)"]["honoured"] is True, rows["XLA codegen (JAX)"]
    assert rows["YNNPACK (JAX dot)"]["native"].startswith("dot in __ynn_fusion")
    assert rows["YNNPACK (JAX dot)"]["with_switch"] == "dot not in YNNPACK"
    onednn = rows["oneDNN (JAX, Eigen matmul)"]
    assert "AVX-512" in onednn["native"] and "isa: Intel AVX2" in onednn["with_switch"], onednn


@needs_avx512
@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's switches: probed in the TensorFlow session")
def test_tensorflow_onednn_and_xla_run_avx2_with_the_switches():
    # one run, with the switches (TensorFlow starts slowly): on an AVX-512 CPU, an ignored switch shows AVX-512
    observed = isa.observe("tensorflow", isa.AVX2_ENV)
    rows = isa.evidence("tensorflow", observed)
    assert rows["oneDNN (TensorFlow)"][1] is False, rows["oneDNN (TensorFlow)"]
    assert observed["xla_objects"] > 0 and rows["XLA codegen (TensorFlow jit_compile)"][1] is False, rows
    assert rows["TensorFlow Eigen kernels"][1] is not None  # the startup message was found and read


@needs_avx512
@pytest.mark.skipif(BACKEND != "jax", reason="backend-independent (NumPy); run once, in the JAX session")
def test_numpy_simd_dispatch_honours_npy_disable_cpu_features():
    rows = isa.probe("numpy")
    simd = rows["NumPy SIMD loops"]
    assert simd["native"] != "AVX-512 targets on: none" and simd["with_switch"] == "AVX-512 targets on: none"
    assert simd["honoured"] is True
    if "threadpoolctl" not in rows["OpenBLAS (NumPy)"]["native"]:
        assert rows["OpenBLAS (NumPy)"]["with_switch"].endswith("Haswell")


def test_avx2_env_for_an_older_xla_drops_only_the_ynnpack_flag():
    older = isa.avx2_env(older_xla=True)
    assert older["XLA_FLAGS"] == "--xla_cpu_max_isa=AVX2"
    assert {k: v for k, v in older.items() if k != "XLA_FLAGS"} == {
        k: v for k, v in isa.AVX2_ENV.items() if k != "XLA_FLAGS"}
    assert isa.avx2_env() == isa.AVX2_ENV


def test_cpu_flags_and_avx512_from_cpuinfo_text():
    text = "processor\t: 0\nflags\t\t: fpu avx2 fma avx512f\n"
    assert isa.cpu_flags(text) == {"fpu", "avx2", "fma", "avx512f"}
    assert isa.cpu_has_avx512(text) and not isa.cpu_has_avx512("flags\t: avx2 fma\n")
    assert not isa.cpu_has_avx512("model name\t: no flags line\n")
