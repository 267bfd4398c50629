#!/usr/bin/env bash
# Regenerates this folder from the published crate apache-spark-connect-proto VERSION: its
# build script's output (the protobuf/gRPC code that protoc + tonic-prost-build make) is checked
# in as src/spark.connect.rs, so that building the project needs no protoc. Run it when the
# apache-spark-connect dependency is bumped (the three crates share one version):
#   vendor/apache-spark-connect-proto/regen.sh 4.2.0
# It needs only crates.io: protoc comes from the protoc-bin-vendored crate.
set -euo pipefail
version="${1:?usage: $0 VERSION (of apache-spark-connect)}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="$work/target"

# 1. A protoc binary, from the protoc-bin-vendored crate.
mkdir -p "$work/protoc-path/src"
cat >"$work/protoc-path/Cargo.toml" <<TOML
[package]
name = "protoc-path"
version = "0.0.0"
edition = "2021"
[dependencies]
protoc-bin-vendored = "3"
[workspace]
TOML
echo 'fn main() { println!("{}", protoc_bin_vendored::protoc_bin_path().unwrap().display()) }' >"$work/protoc-path/src/main.rs"
PROTOC="$(cargo run --quiet --manifest-path "$work/protoc-path/Cargo.toml")"
export PROTOC
echo "protoc: $PROTOC ($("$PROTOC" --version))"

# 2. The published crate, built by its own build script with that protoc.
mkdir -p "$work/gen/src"
cat >"$work/gen/Cargo.toml" <<TOML
[package]
name = "gen"
version = "0.0.0"
edition = "2021"
[dependencies]
apache-spark-connect-proto = "=$version"
[workspace]
TOML
echo 'pub use spark_connect_proto as _p;' >"$work/gen/src/lib.rs"
cargo build --quiet --manifest-path "$work/gen/Cargo.toml"
src="$(cargo metadata --format-version 1 --manifest-path "$work/gen/Cargo.toml" \
    | python3 -c 'import json,sys,os; m=json.load(sys.stdin); print(os.path.dirname(next(p["manifest_path"] for p in m["packages"] if p["name"]=="apache-spark-connect-proto")))')"
generated="$(ls "$CARGO_TARGET_DIR"/debug/build/apache-spark-connect-proto-*/out/spark.connect.rs | head -n1)"

# 3. This folder: the crate without its build script, with the generated code included.
rm -rf "$here/src" "$here/proto"
mkdir -p "$here/src" "$here/proto"
cp "$generated" "$here/src/spark.connect.rs"
sed 's/tonic::include_proto!("spark.connect");/include!("spark.connect.rs");/' "$src/src/lib.rs" >"$here/src/lib.rs"
grep -q 'include!("spark.connect.rs")' "$here/src/lib.rs" || { echo "regen: upstream lib.rs changed; edit $here/src/lib.rs by hand" >&2; exit 1; }
cp "$src"/proto/*.txt "$here/proto/" 2>/dev/null || true
# The normalized manifest minus the build script and its build-dependency.
python3 - "$src/Cargo.toml" "$here/Cargo.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r'^build = .*\n', '', text, flags=re.M)
text = re.sub(r'^\[build-dependencies[^\]]*\]\n(?:[^\[\n].*\n|\n)*', '', text, flags=re.M)
open(sys.argv[2], 'w').write(text)
PY
echo "regenerated $here from apache-spark-connect-proto $version ($(wc -c <"$here/src/spark.connect.rs") bytes of generated code)"
