"""Turning AVX-512 off per numeric library, and checking that it really went off (issue 25).

``AVX2_ENV`` is the environment that caps every library the backends use at AVX2, each through its own switch.
``probe(backend)`` runs the library's kernels in a child process natively and with the switches, and reads what
each library says (or the code it generated, or the kernels that ran) to tell whether the switch was honoured;
``report_lines`` renders the result as a Markdown table for the benchmark report.

Evidence, per library: PyTorch's ATen dispatch from ``torch.backends.cpu.get_cpu_capability()``; Intel MKL from
the first ``MKL_VERBOSE`` line (the ISA it dispatched for); oneDNN from its ``ONEDNN_VERBOSE`` ``isa:`` line and
the implementation name of a convolution; XLA's generated code from the object files of ``--xla_dump_to``
(AVX-512-only operands: zmm, opmask k0-k7, xmm/ymm16-31); NumPy's SIMD dispatch from ``__cpu_features__``;
OpenBLAS's kernel from ``threadpoolctl``. Precompiled kernels that dispatch on CPUID alone (YNNPACK) or not at all
(ducc FFT, TensorFlow's Eigen kernels) are named from the symbols ``perf`` samples, when ``perf`` is usable.

    python benchmarks/isa.py [BACKEND ...]      # probe (default: every backend) and print the table
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BACKENDS = ("torch", "jax", "tensorflow", "numpy")

# XLA's dot goes to YNNPACK, which picks AVX-512 kernels from CPUID with no switch of its own; an empty fusion type
# list keeps dots out of YNNPACK, so they run in Eigen, whose sgemm is oneDNN's (capped by ONEDNN_MAX_CPU_ISA).
XLA_NO_YNN = "--xla_cpu_experimental_ynn_fusion_type="

AVX2_ENV: dict[str, str] = {
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",  # Intel MKL (PyTorch's matmul and FFT)
    "ATEN_CPU_CAPABILITY": "avx2",  # PyTorch's own ATen kernels
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN in PyTorch, TensorFlow and XLA's Eigen matmul
    "DNNL_MAX_CPU_ISA": "AVX2",  # oneDNN's older name, for builds before v2.x read ONEDNN_*
    "XLA_FLAGS": f"--xla_cpu_max_isa=AVX2 {XLA_NO_YNN}",  # XLA's LLVM codegen (JAX; TF with jit_compile)
    "OPENBLAS_CORETYPE": "Haswell",  # NumPy's OpenBLAS: its AVX2 kernels
    # NumPy's own SIMD loops; names of NumPy >= 2.4 (X86_V4 ...) and older ones (AVX512F ...): an unknown name is
    # only an ImportWarning, silent by default
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL",
}


def avx2_env(older_xla: bool = False) -> dict[str, str]:
    """``AVX2_ENV``; with ``older_xla`` (an XLA without YNNPACK, such as TensorFlow 2.20's in kapre 0.4.1's
    environment) without the YNNPACK flag, which such an XLA does not know and aborts on."""
    env = dict(AVX2_ENV)
    if older_xla:
        env["XLA_FLAGS"] = env["XLA_FLAGS"].replace(XLA_NO_YNN, "").strip()
    return env


# The switch each table row is about (a row with None has no switch: it is there to say what cannot be turned off).
SWITCHES: dict[str, str | None] = {
    "PyTorch ATen kernels": "ATEN_CPU_CAPABILITY",
    "Intel MKL (PyTorch matmul, FFT)": "MKL_ENABLE_INSTRUCTIONS",
    "oneDNN (PyTorch)": "ONEDNN_MAX_CPU_ISA",
    "XLA codegen (JAX)": "XLA_FLAGS",
    "YNNPACK (JAX dot)": "XLA_FLAGS",
    "oneDNN (JAX, Eigen matmul)": "ONEDNN_MAX_CPU_ISA",
    "ducc FFT (JAX)": None,
    "oneDNN (TensorFlow)": "ONEDNN_MAX_CPU_ISA",
    "XLA codegen (TensorFlow jit_compile)": "XLA_FLAGS",
    "TensorFlow Eigen kernels": None,
    "ducc FFT (TensorFlow)": None,
    "OpenBLAS (NumPy)": "OPENBLAS_CORETYPE",
    "NumPy SIMD loops": "NPY_DISABLE_CPU_FEATURES",
}

RESULT_TAG = "ISA_PROBE_RESULT "

def cpu_flags(cpuinfo: str | None = None) -> set[str] | None:
    """The CPU's feature flags from ``/proc/cpuinfo`` (``cpuinfo``: its text, for tests); None where unreadable."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return set(value.split())
    return None


def cpu_has_avx512(cpuinfo: str | None = None) -> bool:
    """Whether the CPU has AVX-512 (``avx512f``): only then is there a second, AVX2, column to produce."""
    return "avx512f" in (cpu_flags(cpuinfo) or set())


# ---------------------------------------------------------------------------------------------------------------
# Parsing (pure functions of captured text, tested on samples)
# ---------------------------------------------------------------------------------------------------------------

_AVX512_OPERAND = re.compile(r"%zmm\d+|%k[0-7]\b|%[xy]mm(?:1[6-9]|2\d|3[01])\b")


def avx512_operands(disassembly: str) -> int:
    """AVX-512-only operands in AT&T ``objdump -d`` text: zmm registers, opmask k0-k7, xmm/ymm 16-31 (EVEX only).
    XLA prefers 256-bit vectors, so AVX-512 code often shows as masked or high-numbered ymm, not zmm."""
    return len(_AVX512_OPERAND.findall(disassembly))


def mkl_isa(verbose: str) -> str | None:
    """The ISA MKL dispatched for, from its first ``MKL_VERBOSE`` line (``... for Intel(R) 64 architecture <ISA>,
    Lnx ...``); None when there is no such line."""
    match = re.search(r"^MKL_VERBOSE .*? for Intel\(R\) 64 architecture (.+?), Lnx", verbose, re.M)
    return match.group(1).strip() if match else None


def mkl_uses_avx512(isa: str | None) -> bool | None:
    # On a CPU MKL does not take for Intel (AMD) it names no ISA ("Intel(R) Architecture processors") and runs its
    # generic ("def") kernels, which have no AVX-512 (checked with perf on an AVX-512 EPYC: mkl_blas_def_*_zen).
    if isa is None:
        return None
    return "AVX-512" in isa or "Vector Extensions 512" in isa


def onednn_isa(verbose: str) -> str | None:
    """oneDNN's ``isa:`` info line (``onednn_verbose,v1,info,cpu,isa:Intel AVX2``; older ``dnnl_verbose,info,...``)."""
    match = re.search(r"^(?:onednn|dnnl)_verbose,(?:v\d+,)?info,cpu,isa:(.+)$", verbose, re.M)
    return match.group(1).strip() if match else None


def onednn_implementations(verbose: str) -> list[str]:
    """Implementation names of the primitives oneDNN ran (``jit:avx512_core``, ``brg_conv_fwd:avx2``, ...)."""
    found = re.findall(r"^(?:onednn|dnnl)_verbose,(?:v\d+,)?(?:primitive,)?exec,cpu,(\w+),([^,]*),", verbose, re.M)
    return sorted({f"{op}:{impl}" for op, impl in found if impl and op != "reorder"})


def onednn_uses_avx512(isa: str | None) -> bool | None:
    return None if isa is None else "AVX-512" in isa or "AVX512" in isa


def tf_unused_instructions(log: str) -> list[str] | None:
    """The instructions TensorFlow's startup message says its own (Eigen) kernels were not built for: ``To enable
    the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow``."""
    match = re.search(r"To enable the following instructions: ([A-Z0-9_ ]+?),? in other operations", log)
    return match.group(1).split() if match else None


def kernel_isa(symbol: str) -> str | None:
    """The vector ISA a precompiled kernel's symbol names: MKL (``mkl_blas_avx512_*``, ``mkl_blas_def_*_zen``),
    oneDNN (``jit_avx512_core_*``, ``avx512_common_gemm``), YNNPACK (``ynn::dot_*_avx512``), ducc's SIMD width
    (``vtp<float, 16ul>``: 512-bit)."""
    lowered = symbol.lower()
    if any(tag in lowered for tag in ("avx512", "vtp<float, 16", "vtp<double, 8", "skylakex", "cooperlake",
                                      "sapphirerapids")):
        return "AVX-512"
    if any(tag in lowered for tag in ("avx2", "_zen", "haswell", "vtp<float, 8", "vtp<double, 4")):
        return "AVX2"
    if "mkl_" in lowered and "_def_" in lowered:
        return "generic"
    return None


def honoured(native_avx512: bool | None, switched_avx512: bool | None) -> bool | None:
    """True when AVX-512 was in use natively and not with the switch, False when it stayed on; None when it
    cannot be told, or when nothing used AVX-512 natively (no evidence that the switch works)."""
    if native_avx512 is None or switched_avx512 is None or not native_avx512:
        return None
    return not switched_avx512


# ---------------------------------------------------------------------------------------------------------------
# The child: exercise the kernels, print what the library says about itself
# ---------------------------------------------------------------------------------------------------------------

REPEAT = int(os.environ.get("KAPRE_ISA_REPEAT", "1"))  # > 1 when perf samples the kernels


def _child_torch() -> dict:
    import ctypes

    import torch

    a = torch.randn(300, 300)
    x = torch.randn(6000, 512)
    for _ in range(REPEAT):
        a @ a  # MKL sgemm
        torch.fft.rfft(x)  # MKL DFT
        torch.tanh(a)  # an ATen vectorised kernel
    # oneDNN directly: F.conv2d picks its own backend, this one is always oneDNN's
    torch.mkldnn_convolution(torch.randn(1, 16, 32, 32), torch.randn(16, 16, 3, 3), None, [1, 1], [1, 1], [1, 1], 1)
    out = {"capability": torch.backends.cpu.get_cpu_capability(), "mkl": bool(torch.backends.mkl.is_available())}
    try:  # MKL's own CPU check (exported by libtorch_cpu, which links MKL statically)
        lib = ctypes.CDLL(str(Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"))
        out["mkl_intel_cpu"] = int(lib.mkl_serv_intel_cpu())
    except (OSError, AttributeError):
        pass
    return out


def _child_jax() -> dict:
    import jax
    import jax.numpy as jnp

    f = jax.jit(lambda a, b: jnp.tanh(a @ b) * 2.0 + 1.0)
    g = jax.jit(lambda x: jnp.abs(jnp.fft.rfft(x)) ** 2)
    a, x = jnp.ones((300, 300), jnp.float32), jnp.ones((6000, 512), jnp.float32)
    for _ in range(REPEAT):
        f(a, a).block_until_ready()
        g(x).block_until_ready()
    return {"version": jax.__version__}


def _child_tensorflow() -> dict:
    import tensorflow as tf

    a, x = tf.random.normal((300, 300)), tf.random.normal((6000, 512))
    f = tf.function(lambda a: tf.tanh(tf.matmul(a, a)) * 2.0 + 1.0, jit_compile=True)
    for _ in range(REPEAT):
        tf.matmul(a, a)
        tf.signal.rfft(x)
        f(a)
    tf.nn.conv2d(tf.random.normal((1, 32, 32, 16)), tf.random.normal((3, 3, 16, 16)), 1, "SAME")
    return {"version": tf.__version__}


def _child_numpy() -> dict:
    import numpy as np

    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    a, x = np.random.rand(300, 300).astype(np.float32), np.random.rand(6000, 512).astype(np.float32)
    for _ in range(REPEAT):
        a @ a
        np.fft.rfft(x)
    out = {"dispatch": list(__cpu_dispatch__),
           "avx512_enabled": sorted(name for name in __cpu_dispatch__ if __cpu_features__.get(name)
                                    and ("512" in name or name == "X86_V4"))}
    try:
        from threadpoolctl import threadpool_info

        out["blas"] = [f"{i.get('internal_api')} {i.get('architecture')}" for i in threadpool_info()
                       if i.get("user_api") == "blas"]
    except ImportError:
        pass
    return out


# ---------------------------------------------------------------------------------------------------------------
# The parent: run the child, read its evidence
# ---------------------------------------------------------------------------------------------------------------


def _perf_usable() -> bool:
    if not shutil.which("perf"):
        return False
    try:
        return subprocess.run(["perf", "record", "-q", "-o", os.devnull, "--", "true"], capture_output=True,
                              timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


_KERNEL_SYMBOL = re.compile(r"^(?:mkl_(?:blas|dft)_|ynn::|dnnl::|ducc0::)")


def perf_kernels(report: str) -> list[str]:
    """The numeric libraries' kernel symbols in a ``perf report --stdio --sort sym`` listing, most samples first."""
    kernels = []
    for line in report.splitlines():
        if line.startswith("#") or "[.]" not in line:
            continue
        symbol = line.split("[.]", 1)[1].strip()
        if _KERNEL_SYMBOL.match(symbol) and symbol not in kernels:
            kernels.append(symbol)
    return kernels


def _short(symbol: str) -> str:
    # the function's name (with its template arguments, where ducc's SIMD width is), not its argument list
    name = symbol.split("(", 1)[0].replace("dnnl::impl::cpu::x64::", "dnnl::")
    return name if len(name) <= 100 else name[:97] + "..."


def _base_environment() -> dict:
    """os.environ without any of the switches, so that 'native' is native even under a capped parent."""
    env = {k: v for k, v in os.environ.items() if k not in AVX2_ENV}
    if "XLA_FLAGS" in os.environ:
        kept = [f for f in os.environ["XLA_FLAGS"].split() if not f.startswith(("--xla_cpu_max_isa", XLA_NO_YNN))]
        if kept:
            env["XLA_FLAGS"] = " ".join(kept)
    return env


def observe(backend: str, env: dict | None = None, kernels: bool = False, timeout: float = 300) -> dict:
    """One child run of ``backend``'s kernels with ``env`` added to the environment: the raw evidence (the child's
    own report, the verbose lines, the AVX-512 operands of the code XLA generated, and with ``kernels`` the kernel
    symbols perf sampled)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    child_env = _base_environment()
    for key, value in (env or {}).items():
        child_env[key] = f"{child_env['XLA_FLAGS']} {value}" if key == "XLA_FLAGS" and "XLA_FLAGS" in child_env \
            else value
    child_env.update(MKL_VERBOSE="1", ONEDNN_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="0", PYTHONWARNINGS="ignore")
    with tempfile.TemporaryDirectory(prefix="kapre-isa-") as tmp:
        dump = Path(tmp) / "xla"
        child_env["XLA_FLAGS"] = f"{child_env.get('XLA_FLAGS', '')} --xla_dump_to={dump}".strip()
        command = [sys.executable, str(Path(__file__).resolve()), "--probe", backend]
        use_perf = kernels and _perf_usable()
        if use_perf:
            child_env["KAPRE_ISA_REPEAT"] = "20"
            command = ["perf", "record", "-q", "-F", "999", "-o", str(Path(tmp) / "perf.data"), "--"] + command
        run = subprocess.run(command, env=child_env, capture_output=True, text=True, timeout=timeout)
        text = run.stdout + run.stderr
        tagged = [line for line in run.stdout.splitlines() if line.startswith(RESULT_TAG)]
        if run.returncode != 0 or not tagged:
            raise RuntimeError(f"{backend} probe failed ({run.returncode}): {text[-2000:]}")
        result = {"child": json.loads(tagged[-1][len(RESULT_TAG):]), "log": text,
                  "mkl_isa": mkl_isa(text), "onednn_isa": onednn_isa(text),
                  "onednn_impls": onednn_implementations(text)}
        objects = sorted(dump.rglob("*.o")) if dump.exists() else []
        objdump = shutil.which("objdump")
        if objects and objdump:
            disassembly = subprocess.run([objdump, "-d", "--no-show-raw-insn", *map(str, objects)],
                                         capture_output=True, text=True).stdout
            result["xla_avx512_operands"] = avx512_operands(disassembly)
        result["xla_objects"] = len(objects)
        result["xla_ynn_dot"] = any("__ynn_fusion" in p.read_text(errors="ignore")
                                    for p in dump.glob("*after_optimizations.txt")) if dump.exists() else None
        if use_perf:
            report = subprocess.run(["perf", "report", "-i", str(Path(tmp) / "perf.data"), "--stdio", "--sort",
                                     "sym"], capture_output=True, text=True).stdout
            result["kernels"] = perf_kernels(report)
    return result


def _kernel_evidence(obs: dict, prefix: str) -> tuple[str, bool | None]:
    """The first sampled kernels whose symbol starts with ``prefix``, and whether any is an AVX-512 one."""
    if "kernels" not in obs:
        return "", None
    found = [k for k in obs["kernels"] if k.startswith(prefix)]
    if not found:
        return "no kernel sampled", None
    # the kernels whose names tell an ISA first: they are the evidence
    found = sorted(found, key=lambda k: kernel_isa(k) is None)
    isas = [kernel_isa(k) for k in found]
    names = list(dict.fromkeys(_short(k) for k in found))[:2]
    return "perf: " + ", ".join(names), "AVX-512" in isas if any(isas) else None


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _onednn(obs: dict) -> tuple[str, bool | None]:
    isa = obs["onednn_isa"]
    if isa is None:
        return "not used (no oneDNN verbose line)", None
    return _join(f"isa: {isa}", ", ".join(obs["onednn_impls"][:2])), onednn_uses_avx512(isa)


def _xla_codegen(obs: dict) -> tuple[str, bool | None]:
    if "xla_avx512_operands" not in obs:
        why = "no object files dumped" if not obs["xla_objects"] else "objdump not found"
        return f"not checked ({why})", None
    count = obs["xla_avx512_operands"]
    return f"{count} AVX-512 operands in {obs['xla_objects']} generated object files", count > 0


def _ducc(obs: dict) -> tuple[str, bool | None]:
    # ducc's SIMD width is fixed when the wheel is built (vtp<float, 8>: 256-bit); no switch, no runtime dispatch
    return _kernel_evidence(obs, "ducc0::") if "kernels" in obs else ("not checked (no perf)", None)


def evidence(backend: str, obs: dict) -> dict[str, tuple[str, bool | None]]:
    """Per library of ``backend``: (what was observed, whether it shows AVX-512 in use; None: cannot tell)."""
    child = obs["child"]
    rows: dict[str, tuple[str, bool | None]] = {}
    if backend == "torch":
        cap = child["capability"]
        rows["PyTorch ATen kernels"] = (f"get_cpu_capability() = {cap}", cap.upper().startswith("AVX512"))
        isa = obs["mkl_isa"]
        note = {0: "MKL: not an Intel CPU", 1: "MKL: Intel CPU"}.get(child.get("mkl_intel_cpu"), "")
        kernels, kernel_avx512 = _kernel_evidence(obs, "mkl_")
        avx512 = mkl_uses_avx512(isa)
        rows["Intel MKL (PyTorch matmul, FFT)"] = (
            _join(f"MKL_VERBOSE: {isa}" if isa else "no MKL_VERBOSE line", note, kernels),
            kernel_avx512 if kernel_avx512 is not None else avx512)
        rows["oneDNN (PyTorch)"] = _onednn(obs)
    elif backend == "jax":
        rows["XLA codegen (JAX)"] = _xla_codegen(obs)
        kernels, kernel_avx512 = _kernel_evidence(obs, "ynn::")
        if obs["xla_ynn_dot"]:
            rows["YNNPACK (JAX dot)"] = (_join("dot in __ynn_fusion", kernels), kernel_avx512)
        else:
            rows["YNNPACK (JAX dot)"] = ("dot not in YNNPACK", False)
        dnnl_kernels, dnnl_avx512 = _kernel_evidence(obs, "dnnl::")
        text, avx512 = _onednn(obs)
        rows["oneDNN (JAX, Eigen matmul)"] = (_join(text, dnnl_kernels if obs["onednn_isa"] else ""), avx512)
        rows["ducc FFT (JAX)"] = _ducc(obs)
    elif backend == "tensorflow":
        rows["oneDNN (TensorFlow)"] = _onednn(obs)
        rows["XLA codegen (TensorFlow jit_compile)"] = _xla_codegen(obs)
        unused = tf_unused_instructions(obs["log"])
        rows["TensorFlow Eigen kernels"] = (
            ("built without " + " ".join(unused)) if unused is not None else "no cpu_feature_guard message",
            None if unused is None else not any("AVX512" in u for u in unused))
        rows["ducc FFT (TensorFlow)"] = _ducc(obs)
    elif backend == "numpy":
        blas = ", ".join(child.get("blas", [])) or "threadpoolctl not installed"
        rows["OpenBLAS (NumPy)"] = (f"core {blas}", None if "blas" not in child else
                                    any(kernel_isa(b) == "AVX-512" for b in child["blas"]))
        enabled = child["avx512_enabled"]
        rows["NumPy SIMD loops"] = ("AVX-512 targets on: " + (" ".join(enabled) or "none"), bool(enabled))
    return rows


def compare(native: dict[str, tuple[str, bool | None]], switched: dict[str, tuple[str, bool | None]],
            env: dict) -> dict[str, dict]:
    """The table rows: per library, its switch, what was seen natively and with ``env``, whether it was honoured."""
    rows = {}
    for library, (seen, avx512) in native.items():
        key = SWITCHES.get(library)
        switch = f"{key}={env[key]}" if key and key in env else "none"
        seen_switched, avx512_switched = switched.get(library, ("not run", None))
        rows[library] = {"switch": switch, "native": seen, "with_switch": seen_switched,
                         "honoured": honoured(avx512, avx512_switched) if key else (False if avx512 else None)}
    return rows


def probe(backend: str, env: dict | None = None, kernels: bool = False) -> dict[str, dict]:
    """Run ``backend``'s kernels natively and with ``env`` (default ``AVX2_ENV``) in child processes; per library:
    ``{"switch": "ENV=VALUE", "native": observed, "with_switch": observed, "honoured": True/False/None}``.
    ``kernels``: also name the precompiled kernels that ran, sampled with ``perf`` (when usable; a second or two)."""
    env = AVX2_ENV if env is None else env
    native = evidence(backend, observe(backend, None, kernels))
    switched = evidence(backend, observe(backend, env, kernels))
    if backend == "jax" and XLA_NO_YNN in env.get("XLA_FLAGS", ""):
        # natively JAX's dot is YNNPACK's and oneDNN is not called: its native ISA is read with the dot moved to
        # Eigen (whose sgemm is oneDNN's) but without the ISA caps
        library = "oneDNN (JAX, Eigen matmul)"
        seen, avx512 = evidence(backend, observe(backend, {"XLA_FLAGS": XLA_NO_YNN}, kernels))[library]
        native[library] = (_join(seen, f"with {XLA_NO_YNN} only"), avx512)
    return compare(native, switched, env)


def report_lines(results: dict[str, dict]) -> list[str]:
    """A Markdown table: library | switch | native | with the switch | honoured."""
    mark = {True: "yes", False: "**no**", None: "n/a"}
    lines = ["| library | switch | native | with the switch | honoured |", "|---|---|---|---|---|"]
    for library, row in results.items():
        cells = [library, f"`{row['switch']}`" if row["switch"] != "none" else "none", row["native"],
                 row["with_switch"], mark[row["honoured"]]]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--probe":
        child = {"torch": _child_torch, "jax": _child_jax, "tensorflow": _child_tensorflow,
                 "numpy": _child_numpy}[argv[1]]()
        print(RESULT_TAG + json.dumps(child), flush=True)
        return 0
    results: dict[str, dict] = {}
    for backend in argv or BACKENDS:
        try:
            results.update(probe(backend, kernels=True))
        except (ImportError, RuntimeError, subprocess.TimeoutExpired) as error:
            print(f"{backend}: not probed ({str(error).splitlines()[0][:200]})", file=sys.stderr)
    print("\n".join(report_lines(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
