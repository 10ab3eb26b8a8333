#!/usr/bin/env bash
# Checks the CUDA build of the ops extension on a machine WITHOUT a GPU (not part of CI):
# a throwaway venv with the registry's CUDA build of torch (torch==2.13.0 is a CUDA 13.0 wheel
# on PyPI; ~5 GB with its nvidia packages), a copy of the sources, `FORCE_CUDA=1` build with
# CUDA_HOME NOT set (setup.py must find the toolkit root itself, tadet/utils/cuda_home.py), then
# an import of the built extension and a check that it exposes every op. Kernels are not run
# (no GPU); tools/misc/gpu_check.sh does that on a GPU machine.
#   tools/misc/cuda_build_check.sh [WORK_DIR]    (default /tmp/tadet_cuda_build_check)
# Needs nvcc and network access to the package registry. Exit status 0 when build and import
# passed; the build log is WORK_DIR/build.log.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${1:-/tmp/tadet_cuda_build_check}
PY=${PYTHON:-python3}
TORCH=${TORCH_VERSION:-2.13.0}
mkdir -p "$WORK"
command -v nvcc > /dev/null || { echo "cuda_build_check: no nvcc on PATH"; exit 1; }
if [ ! -x "$WORK/venv/bin/python" ]; then
    echo "[1/4] venv + CUDA torch $TORCH (several GB, once)"
    "$PY" -m venv "$WORK/venv"
    # --isolated: the machine's pip config may pin the CPU wheel on disk
    "$WORK/venv/bin/pip" download --isolated --no-deps -q -d "$WORK/wheels" "torch==$TORCH"
    "$WORK/venv/bin/pip" install --isolated -q "$WORK"/wheels/torch-*.whl
    "$WORK/venv/bin/pip" install -q setuptools wheel ninja numpy
else
    echo "[1/4] reusing $WORK/venv"
fi
"$WORK/venv/bin/python" -c "import torch; assert torch.version.cuda, 'torch in the venv is a CPU build'; print('torch', torch.__version__, 'CUDA', torch.version.cuda)"
echo "[2/4] sources -> $WORK/src"
rm -rf "$WORK/src" && mkdir -p "$WORK/src"
(cd "$REPO" && git ls-files -z | xargs -0 -I{} cp --parents {} "$WORK/src/")
echo "[3/4] FORCE_CUDA=1 build, CUDA_HOME unset (log: $WORK/build.log)"
t0=$SECONDS
# no GPU here to take the architectures from: A100 and H100/H200 unless set
(cd "$WORK/src" && env -u CUDA_HOME -u CUDA_PATH FORCE_CUDA=1 MAX_JOBS=${MAX_JOBS:-2} \
    TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-8.0;9.0}" \
    "$WORK/venv/bin/python" setup.py build_ext --inplace) > "$WORK/build.log" 2>&1 \
    || { tail -n 30 "$WORK/build.log"; echo "cuda_build_check: BUILD FAILED"; exit 1; }
warnings=$(grep -ci 'warning' "$WORK/build.log" || true)
echo "      built in $((SECONDS - t0)) s, $warnings warning line(s)"
echo "[4/4] import the built extension"
(cd "$WORK/src" && "$WORK/venv/bin/python" - <<'PY'
import glob, importlib.util
path = glob.glob('tadet/_ext*.so')[0]
spec = importlib.util.spec_from_file_location('tadet._ext', path)
import torch  # noqa: F401  (the extension links against torch's libraries)
ext = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ext)
names = sorted(n for n in dir(ext) if not n.startswith('_'))
print('      loaded', path, 'with', names)
assert getattr(ext, 'has_cuda', lambda: True)(), 'extension built without CUDA kernels'
PY
)
echo "cuda_build_check: OK"
