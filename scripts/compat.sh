#!/usr/bin/env bash
# `make compat`: builds reposer against Debian 13's libtorch 2.6 inside a Debian 13 root and runs the parity suite
# there, against that root's python3-torch 2.6. The host's own build (build/, dist/, Debian 12's libtorch 1.13) is
# never touched: the root gets a copy of the working tree and builds its own build/ and dist/.
#
#   REPOSER_COMPAT_CACHE=/var/tmp/reposer-compat   where the root lives (reused when present; a run resumes)
#   REPOSER_COMPAT_MIRROR=http://deb.debian.org/debian
#   REPOSER_COMPAT_TESTS="dist/test/parity"        test files or folders (dist paths) to run instead of the parity suite
#   REPOSER_COMPAT_SHELL=1                         open a shell in the root after the build instead of running tests
#
# Needs root (debootstrap, chroot and bind mounts) and about 3 GB under the cache folder.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${REPOSER_COMPAT_CACHE:-/var/tmp/reposer-compat}
mirror=${REPOSER_COMPAT_MIRROR:-http://deb.debian.org/debian}
suite=trixie
root=$cache/$suite
tests=${REPOSER_COMPAT_TESTS:-dist/test/parity}

# libtorch-dev and python3-torch are the pair under test; g++, make and libnode-dev (Node's headers) build the addon;
# scipy and skimage are the evaluation oracles; OpenBLAS, because Debian's libtorch does its matrix products
# through libblas.so.3 and the reference BLAS makes the suite several times slower; libgloo-dev so that
# native/distributed.cc is compiled against 2.6's c10d too; procps for the `ps` the distributed training test reads
# its ranks from. npm is not installed: the host's node_modules is copied.
packages=(libtorch-dev python3-torch nodejs libnode-dev g++ make python3-scipy python3-skimage
  libopenblas0-openmp libgloo-dev procps ca-certificates)

say() { echo "compat: $*"; }
die() { echo "compat: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
  die "building a Debian 13 root needs root (debootstrap, chroot, mount); run: sudo make compat"
fi

phases=()
phase_start=0
begin() { phase_start=$(date +%s); say "== $1"; current_phase=$1; }
end() { local s=$(($(date +%s) - phase_start)); phases+=("$(printf '%-34s %5ds' "$current_phase" "$s")"); }

# ---- the root ---------------------------------------------------------------------------------------------------
begin "debootstrap $suite"
if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap on the host"
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
fi
if [ -f "$root/.reposer-bootstrapped" ]; then
  say "reusing $root"
else
  # Bootstrapped into a .partial folder and renamed when complete, so an interrupted run is never mistaken for a
  # finished root; a second run bootstraps into the same folder again and reuses the packages it already fetched.
  mkdir -p "$cache"
  debootstrap --variant=minbase "$suite" "$root.partial" "$mirror" ||
    die "debootstrap of $suite from $mirror failed (log: $root.partial/debootstrap/debootstrap.log); run make compat again to resume"
  touch "$root.partial/.reposer-bootstrapped"
  mv "$root.partial" "$root"
fi
end

mounts=()
cleanup() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() {  # bind SOURCE TARGET [ro]
  mkdir -p "$2"
  mountpoint -q "$2" && return 0
  mount --bind "$1" "$2"
  mounts+=("$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}
mountpoint -q "$root/proc" || { mount -t proc proc "$root/proc"; mounts+=("$root/proc"); }
bind /dev "$root/dev"
bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"

in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive "$@"
}

begin "apt-get install (libtorch 2.6)"
stamp="$root/.reposer-packages"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${packages[*]}" ]; then
  say "packages already installed"
else
  in_root apt-get update -q
  in_root apt-get install -y -q --no-install-recommends "${packages[@]}"
  echo "${packages[*]}" >"$stamp"
fi
torch_version=$(in_root dpkg-query -W -f='${Version}' libtorch-dev)
python_torch=$(in_root /usr/bin/python3 -c 'import torch; print(torch.__version__)')
node_version=$(in_root node --version)
say "libtorch-dev $torch_version, python3-torch $python_torch, node $node_version"
end

# ---- the tree ---------------------------------------------------------------------------------------------------
# Tracked and untracked-but-not-ignored files, as git sees them, over the copy; the copy's own build/, dist/ and
# node_modules/ stay, so a second run rebuilds only what changed.
begin "copy the working tree"
work=$root/work/reposer
mkdir -p "$work"
(cd "$work" && find . -mindepth 1 -maxdepth 1 ! -name build ! -name dist ! -name node_modules -exec rm -rf {} +)
git -C "$repo" ls-files -z --cached --others --exclude-standard |
  (cd "$repo" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
  tar -C "$repo" --null -T - -cf - | tar -C "$work" -xf -
if [ ! -f "$work/node_modules/.package-lock.json" ] ||
  ! cmp -s "$repo/node_modules/.package-lock.json" "$work/node_modules/.package-lock.json"; then
  [ -d "$repo/node_modules" ] || die "$repo/node_modules is missing; run make setup on the host first (compat copies it)"
  rm -rf "$work/node_modules"
  cp -a "$repo/node_modules" "$work/node_modules"
fi
# The real data under ../shared/data, read-only, where the tests look for it (they skip without it).
if [ -f "$repo/../shared/data/README.md" ]; then bind "$(cd "$repo/../shared/data" && pwd)" "$root/work/shared/data" ro; fi
end

begin "build the addon (make native)"
in_root nice make -C /work/reposer --no-print-directory native
in_root node -e "
  const a = require('/work/reposer/build/reposer.node');
  console.log('compat: the addon loads; libtorch ' + a.version() + ', gloo ' + a.distAvailable());"
end

begin "build TypeScript (tsc)"
in_root sh -c 'cd /work/reposer && nice node node_modules/typescript/bin/tsc -p tsconfig.json'
end

if [ -n "${REPOSER_COMPAT_SHELL:-}" ]; then
  say "a shell in the root, in /work/reposer (exit to unmount)"
  in_root sh -c 'cd /work/reposer && exec bash -i' || true
  exit 0
fi

begin "tests ($tests)"
set +e
# shellcheck disable=SC2086  # $tests is a list of paths
in_root sh -c "cd /work/reposer && exec nice node --test --test-reporter=spec \$(find $tests -name '*.test.js' | sort)" \
  2>&1 | tee "$cache/tests.log"
status=${PIPESTATUS[0]}
set -e
end

echo
say "libtorch-dev $torch_version, python3-torch $python_torch, node $node_version (root: $root)"
printf 'compat:   %s\n' "${phases[@]}"
grep -E '^ℹ (tests|pass|fail|skipped|todo|duration_ms)' "$cache/tests.log" | sed 's/^/compat:   /' || true
say "full test output: $cache/tests.log"
exit "$status"
