#!/usr/bin/env bash
# How many aarch64 instructions SHA-256 of the `sha2` crate (the node's
# piece hash) takes per byte, counted by the emulator: qemu-user runs a
# small program that hashes 256 KiB pieces, once without sha2's `asm`
# feature (plain code: what a board without the ARMv8 SHA instructions
# runs, the Raspberry Pi 3's and 4's SoCs among them) and once with it, as
# warren-proto builds sha2 on aarch64 (the SHA instructions where the CPU
# has them, detected at run time; a Pi 5's Cortex-A76 has them), each for
# two input sizes;
# qemu logs every translated block (in_asm) and every block it runs
# (exec, nochain), and the difference between the two sizes, divided by
# their difference in bytes, is instructions per byte.
#
#   tools/figures/sha256-aarch64.sh
#
# Needs what image-build/deps.sh --build installs (Debian's rustc with the
# arm64 std, the cross gcc, qemu-user-static).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
version=$(awk '/^name = "sha2"$/ {getline; gsub(/"/, "", $3); print $3; exit}' "$repo/Cargo.lock")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
cat >"$work/Cargo.toml" <<TOML
[package]
name = "sha256-probe"
version = "0.0.0"
edition = "2021"

[dependencies]
sha2 = { version = "=$version", default-features = false }

[features]
asm = ["sha2/asm"]

[profile.release]
codegen-units = 1
TOML
cat >"$work/src/main.rs" <<'RS'
use sha2::{Digest, Sha256};
fn main() {
    let bytes: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let piece = vec![0x5au8; 256 << 10];
    let mut out = 0u8;
    for _ in 0..bytes / piece.len() {
        out ^= Sha256::digest(std::hint::black_box(&piece))[0];
    }
    println!("{out} cpu-has-sha2={}", std::arch::is_aarch64_feature_detected!("sha2"));
}
RS
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
count() { # count BINARY BYTES: guest instructions executed
    local log="$work/qemu.log"
    qemu-aarch64-static -cpu cortex-a72 -L /usr/aarch64-linux-gnu -d in_asm,exec,nochain -D "$log" "$1" "$2" >/dev/null
    python3 - "$log" <<'PY'
import re, sys
size, count, pc, total = {}, 0, None, 0
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("IN:"):
        pc, count = None, 0
    elif re.match(r"^0x[0-9a-f]+:", line):
        if pc is None:
            pc = int(line.split(":")[0], 16)
        count += 1
        size[pc] = count
    elif line.startswith("Trace"):
        m = re.search(r"\[[0-9a-f]+/([0-9a-f]+)/", line)
        if m:
            total += size.get(int(m.group(1), 16), 0)
print(total)
PY
}
small=$((1 << 20))
large=$((3 << 20))
for variant in soft asm; do
    features=()
    [ $variant = asm ] && features=(--features asm)
    RUSTC=/usr/bin/rustc cargo build -q --release --target aarch64-unknown-linux-gnu \
        --manifest-path "$work/Cargo.toml" --target-dir "$work/target" "${features[@]}"
    bin="$work/target/aarch64-unknown-linux-gnu/release/sha256-probe"
    detected=$(qemu-aarch64-static -cpu cortex-a72 -L /usr/aarch64-linux-gnu "$bin" 0 | sed 's/.*=//')
    a=$(count "$bin" $small)
    b=$(count "$bin" $large)
    python3 - "$variant" "$detected" "$a" "$b" "$small" "$large" <<'PY'
import sys
variant, detected, a, b, small, large = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
per = (b - a) / (large - small)
what = ("without its asm feature (plain code: a board without SHA instructions)" if variant == "soft"
        else "with its asm feature, as the node builds it (ARMv8 SHA instructions where the CPU has them)")
print(f"sha2 {what}: {per:.1f} instructions per byte (the emulated CPU offers SHA instructions: {detected})")
boards = (((1.2, "on a Pi 3 (1.2 GHz)"), (1.5, "on a Pi 4 (1.5 GHz)")) if variant == "soft"
          else ((1.5, "at 1.5 GHz"),))
for ghz, board in boards:
    print(f"  at one instruction per cycle {board}: {ghz * 1e3 / per:.0f} MB/s")
PY
done
