"""What every benchmark table names: the processor it ran on (ratios depend on it)."""

from __future__ import annotations

import platform


def cpu_model() -> str:
    """Return the ``model name`` of /proc/cpuinfo, or what the platform module says elsewhere."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


SIMD_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile")


def cpu_flags() -> list[str]:
    """Return the SIMD flags of /proc/cpuinfo among :data:`SIMD_FLAGS` (empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    present = set(line.split(":", 1)[1].split())
                    return [flag for flag in SIMD_FLAGS if flag in present]
    except OSError:
        pass
    return []


def blas_kernel() -> str:
    """Return the BLAS that compiled code calls and the kernels it picked (OpenBLAS's ``architecture``)."""
    try:
        from threadpoolctl import ThreadpoolController

        from tsrnn.kernels._threads import _numba_blas_libraries
    except ImportError:
        return "unknown BLAS"
    import scipy.linalg.cython_blas  # noqa: F401  (Numba's BLAS; load it before looking)

    for lib in _numba_blas_libraries(ThreadpoolController()):
        info = lib.info()
        return f"{info['internal_api']} {info.get('version') or ''} ({info.get('architecture') or 'unknown'} kernels)"
    return "unknown BLAS"


def cpu_line() -> str:
    """One line naming the processor, its SIMD flags, its CPUs for this process and the BLAS kernels."""
    from tsrnn.kernels._ahead import _cpus

    return f"CPU: {cpu_model()}; {_cpus()} CPUs; flags {' '.join(cpu_flags()) or 'unknown'}; BLAS {blas_kernel()}"
