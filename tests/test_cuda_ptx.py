"""Every CUDA kernel compiles for a real GPU (compute capability 9.0), in both precisions.

The CUDA simulator runs kernels as Python and checks no types; this test types and compiles
them for a GPU through libNVVM, which the CUDA extra brings, with no GPU needed. It also
checks that float32 kernels hold no float64 arithmetic.
"""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import importlib, types
    import numpy as np
    import numba.cuda.dispatcher as dispatcher
    # Device functions ask the current device for its compute capability; there may be none.
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(9, 0))
    from numba import cuda
    for name in ("tsrnn._cuda.kernels", "tsrnn._cuda.optim", "tsrnn._cuda.losses", "tsrnn._cuda.network"):
        module = importlib.import_module(name)
        for dtype in (np.float32, np.float64):
            for kernel, signature in module.ptx_signatures(dtype):
                ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=(9, 0))
                wide = [line for line in ptx.splitlines() if ".f64" in line]
                # Loss and gradient norm sum in float64 on purpose, whatever the parameters' dtype.
                if dtype == np.float32 and wide and kernel not in getattr(module, "FLOAT64_KERNELS", ()):
                    raise SystemExit(f"{name}.{kernel.py_func.__name__}: float64 arithmetic in float32: {wide[:3]}")
                print(np.dtype(dtype).name, name, kernel.py_func.__name__)
    """
)


def test_every_kernel_compiles_for_a_gpu():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    assert result.stdout.count("float32") == result.stdout.count("float64") >= 12
