#!/usr/bin/env bash
# Installs what reposer needs, then builds it. Safe to run again: each step skips what is done.
#   LIBTORCH=/path/to/libtorch   build against an upstream libtorch (CPU or CUDA) instead of Debian's libtorch-dev
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's libtorch does its matrix products (linear layers, bmm, transposed convolutions) through the system
# libblas.so.3, which is the slow reference BLAS unless an optimised one is installed: OpenBLAS made a transposed
# convolution 11x and a 1024^2 matmul 6.5x faster here. The OpenMP build shares libtorch's thread pool.
# python3-skimage and python3-scipy are the evaluation oracles (SSIM, the Frechet distance); chromium runs the
# report test through playwright-core, which downloads no browser of its own.
apt_packages=(python3-torch libopenblas0-openmp python3-skimage python3-scipy chromium libgloo-dev)
[ -z "${LIBTORCH:-}" ] && apt_packages+=(libtorch-dev)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]} with apt"
    DEBIAN_FRONTEND=noninteractive bash -c "$cmd"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    echo "setup: installing ${missing[*]} with sudo apt"
    sudo DEBIAN_FRONTEND=noninteractive bash -c "$cmd"
  else
    echo "setup: reposer needs the Debian packages: ${missing[*]}" >&2
    echo "setup: this process is not root and cannot use sudo; run this as root, then run make again:" >&2
    echo "    sudo bash -c '$cmd'" >&2
    exit 1
  fi
fi

# npm ci only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

make --no-print-directory native build
