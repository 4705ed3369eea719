#!/usr/bin/env bash
# setup-deps.sh — install what fourmi needs to build and test, skipping what is already there.
#
#   Debian packages : compilers, CMake, Open MPI, HDF5, matio (MATLAB files), yaml-cpp, CLI11, nlohmann/json, fmt, GoogleTest
#   Python venv     : torch==2.11.0 (LibTorch for CMake), matplotlib and h5py for tools/,
#                     scipy and tensorboard (tests write MATLAB files and read event files),
#                     kept OUTSIDE the clone at $FOURMI_VENV (default ~/.cache/fourmi/venv) and reused.
#
# Prints the venv path on its last line so the Makefile can capture it.
# Not root and packages missing: prints the apt-get line to run and exits 1.
set -euo pipefail

TORCH_VERSION=2.11.0
VENV="${FOURMI_VENV:-$HOME/.cache/fourmi/venv}"
WITH_SLURM="${FOURMI_WITH_SLURM:-1}"

APT_PACKAGES=(build-essential cmake ninja-build ccache pkg-config
  openmpi-bin libopenmpi-dev libhdf5-dev hdf5-tools libmatio-dev libyaml-cpp-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev libgtest-dev clang-format clang-tidy)
if [ "$WITH_SLURM" = 1 ]; then APT_PACKAGES+=(slurm-wlm munge slurm-wlm-basic-plugins); fi

log() { echo "[setup] $*" >&2; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]}"
    log "install them as root:  sudo apt-get install -y ${missing[*]}"
    log "or, on a cluster, load the matching modules and run 'make build' (see README.md, 'Building on a cluster')."
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  log "Debian packages: all present"
fi

PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv $VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV" >&2
fi
if ! "$VENV/bin/python" -c "import torch,sys; sys.exit(0 if torch.__version__.split('+')[0]=='$TORCH_VERSION' else 1)" 2>/dev/null; then
  log "installing torch==$TORCH_VERSION into $VENV (large download, done once)"
  "$VENV/bin/python" -m pip install -q --upgrade pip >&2
  "$VENV/bin/python" -m pip install -q "torch==$TORCH_VERSION" >&2
else
  log "torch $TORCH_VERSION: present in $VENV"
fi
if ! "$VENV/bin/python" -c "import matplotlib, h5py, numpy, scipy, tensorboard" 2>/dev/null; then
  log "installing matplotlib, h5py, numpy, scipy, tensorboard into $VENV"
  "$VENV/bin/python" -m pip install -q matplotlib h5py numpy scipy tensorboard >&2
fi
echo "$VENV"
