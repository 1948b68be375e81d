#!/usr/bin/env bash
# Runs every Warren test, installing whatever is missing first.
#
#   tools/test-all.sh
#
# On a fresh Debian 12 machine with a Rust toolchain: installs the Debian
# packages (tools/deps.sh; tor among them) and cargo tools the tests need,
# then runs formatting and lint checks, docs and the test builds while the
# Raspberry Pi image is built beside them (image-build/build.sh, log in
# target/image-build.log) and so is the fresh-machine check
# (tools/check-fresh-debian.sh: the install steps, run in a brand-new
# Debian 12 root, give every tool the tests start; as root only; log in
# target/fresh-debian.log), then every test (nextest), the onion tier on a
# private Tor network, a short run of each fuzz target (from the
# corpus tools/fuzz-campaign.sh minimized, kept in proto/fuzz/corpus), and the rest
# of the image tier: the image checked and booted under qemu on virt
# (hw-tests/qemu-boot.sh) and on the Pi models, side by side
# (hw-tests/qemu-boot-pi.sh); that tier needs root.
# Environment: WARREN_FUZZ_SECONDS (default 15) per fuzz target;
# WARREN_IMAGE_OUT (default target/image) for the image; WARREN_IMAGE_XZ
# (default -1 here: the fastest xz preset, the same image inside; a release
# keeps build.sh's -6); WARREN_IMAGE_TIER=0
# skips the image tier; WARREN_PI_MACHINES (default "raspi3b raspi3ap") the
# qemu Raspberry Pi models it boots besides virt; WARREN_FRESH_CHECK=0 skips
# the fresh-machine check.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_seconds=${WARREN_FUZZ_SECONDS:-15}
# One clean build, no incremental caches: they doubled the disk a cold run needs.
export CARGO_INCREMENTAL=0
step() { printf '\n==> [%d s] %s\n' "$SECONDS" "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "need root to run: $*" >&2; exit 1
    fi
}

# --- Debian packages ---------------------------------------------------------
tools/deps.sh

# --- cargo tools ---------------------------------------------------------------
if ! cargo nextest --version >/dev/null 2>&1; then
    step "installing cargo-nextest"
    cargo install --locked cargo-nextest
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    step "installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 && command -v rustup >/dev/null; then
        rustup component add "$component"
    fi
done

# The image build (a cross build and a Debian root: CPU and disk, nothing
# timed) runs beside the lints, docs and test builds, which time nothing
# either; it must end before the first test runs, so the timed tiers run
# alone. Its packages are installed first, in the foreground (nothing else
# may hold the package manager meanwhile).
image_tier=${WARREN_IMAGE_TIER:-1}
image_out=${WARREN_IMAGE_OUT:-target/image}
build_log="${CARGO_TARGET_DIR:-$PWD/target}/image-build.log"
image_pid=""
fresh_pid=""
fresh_log="${CARGO_TARGET_DIR:-$PWD/target}/fresh-debian.log"
trap 'for p in $image_pid $fresh_pid; do kill "$p" 2>/dev/null || true; done' EXIT
mkdir -p "$(dirname "$build_log")"
if [ "$image_tier" = 1 ]; then
    step "image tier: building the Raspberry Pi image in the background ($build_log)"
    as_root image-build/deps.sh --build --boot
    as_root env CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" \
        WARREN_IMAGE_XZ="${WARREN_IMAGE_XZ:--1}" \
        image-build/build.sh "$image_out" >"$build_log" 2>&1 </dev/null &
    image_pid=$!
fi

# A package that only this machine has (a Recommends left out, a hand
# install) would hide behind a green run; a brand-new root has none. The
# check mostly downloads and unpacks packages, so it runs beside the builds
# too, and must end before the first test runs.
if [ "${WARREN_FRESH_CHECK:-1}" = 0 ]; then
    step "fresh-machine check skipped (WARREN_FRESH_CHECK=0)"
elif [ "$(id -u)" -ne 0 ]; then
    step "fresh-machine check skipped: it needs root (mmdebstrap, chroot, mounts)"
else
    step "fresh-machine check: the install steps on a brand-new Debian 12, in the background ($fresh_log)"
    tools/check-fresh-debian.sh >"$fresh_log" 2>&1 </dev/null &
    fresh_pid=$!
fi

# --- checks ----------------------------------------------------------------------
step "format"
cargo fmt --all --check
cargo fmt --manifest-path proto/fuzz/Cargo.toml --check

step "clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "docs (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "test builds"
cargo test --workspace --locked --no-run

if [ "$image_tier" = 1 ]; then
    step "image tier: waiting for the image build"
    if ! wait "$image_pid"; then
        image_pid=""
        cat "$build_log"
        echo "the image build failed" >&2
        exit 1
    fi
    image_pid=""
    cat "$build_log"
fi
if [ -n "$fresh_pid" ]; then
    step "fresh-machine check: waiting for it"
    fresh_ok=1
    wait "$fresh_pid" || fresh_ok=0
    fresh_pid=""
    cat "$fresh_log"
    [ "$fresh_ok" = 1 ] || { echo "the fresh-machine check failed" >&2; exit 1; }
fi

step "tests"
cargo nextest run --workspace --locked --config-file tools/nextest.toml --profile ci
cargo test --workspace --doc --locked

step "onion tier: real nodes on a private Tor network on loopback"
cargo test --locked -p warren-node --test onion

step "fuzz targets, ${fuzz_seconds}s each"
(
    cd proto
    # cargo-fuzz passes -Z sanitizer flags; this lets the stable toolchain
    # accept them for the fuzz build only.
    export RUSTC_BOOTSTRAP=1
    cargo fuzz build
    log=$(mktemp)
    # New inputs go to a scratch folder: the committed corpus (minimized by
    # tools/fuzz-campaign.sh) is where each run starts, and stays as it is.
    fresh=$(mktemp -d)
    for target in $(cargo fuzz list); do
        mkdir -p "fuzz/corpus/$target" "$fresh/$target"
        if ! cargo fuzz run "$target" "$fresh/$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
            -max_total_time="$fuzz_seconds" >"$log" 2>&1; then
            tail -n 60 "$log"
            echo "fuzz target $target failed" >&2
            exit 1
        fi
        printf '%-10s %s\n' "$target" "$(grep -E '^Done' "$log" || echo 'no summary')"
    done
    rm -rf "$log" "$fresh"
)


if [ "$image_tier" = 1 ]; then
    step "image tier: check the image, boot it under qemu"
    version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
    image="$image_out/warren-$version-rpi-arm64.img"
    as_root image-build/check-image-selftest.sh "$image"
    as_root hw-tests/qemu-boot.sh "$image"
    # qemu's own Raspberry Pi models (the Pi's kernel, device tree and SD
    # host), booted side by side: each waits on emulated time.
    step "image tier: booting on qemu's ${WARREN_PI_MACHINES:-raspi3b raspi3ap}"
    pids=()
    for machine in ${WARREN_PI_MACHINES:-raspi3b raspi3ap}; do
        as_root hw-tests/qemu-boot-pi.sh "$image" "$machine" >"$build_log.$machine" 2>&1 </dev/null &
        pids+=("$!:$machine")
    done
    failed=0
    for entry in "${pids[@]}"; do
        wait "${entry%%:*}" || failed=1
        cat "$build_log.${entry#*:}"
    done
    [ "$failed" = 0 ] || { echo "a Raspberry Pi boot test failed" >&2; exit 1; }
else
    step "image tier skipped (WARREN_IMAGE_TIER=0)"
fi

step "all tests passed"
