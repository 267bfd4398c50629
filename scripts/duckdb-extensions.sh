#!/usr/bin/env bash
# Provision DuckDB's postgres extension (postgres_scanner) into a DuckDB extension_directory
# without DuckDB's own extension repository: the extension comes from PyPI's
# duckdb-extension-postgres-scanner wheel (one per DuckDB version and platform; it carries DuckDB
# Labs' signed build as duckdb_extension_postgres_scanner/extensions/vX.Y.Z/postgres_scanner.duckdb_extension).
#
#   scripts/duckdb-extensions.sh [DIR]    provision DIR (default $SEGMENTER_CACHE_DIR/duckdb-extensions,
#                                         i.e. ~/.cache/segmenter/duckdb-extensions) and print DIR
#
# Result (DuckDB's own layout, as INSTALL would make it):
#   DIR/v1.5.5/linux_amd64/postgres_scanner.duckdb_extension
# so that DuckDB finds it with no network:
#   SET autoinstall_known_extensions = false; SET autoload_known_extensions = false;
#   SET extension_directory = 'DIR';
#   LOAD postgres;            -- "postgres" is DuckDB's alias of postgres_scanner
# or by path: LOAD 'DIR/v1.5.5/linux_amd64/postgres_scanner.duckdb_extension';
# The file must be named postgres_scanner.duckdb_extension (LOAD postgres looks for that name);
# it is signed, so allow_unsigned_extensions is not needed.
#
# Idempotent: a DIR that already holds the right file (checked against the wheel's RECORD sha256)
# is left alone. The wheel is cached in $SEGMENTER_CACHE_DIR/wheels, so a second call (or one for
# another DIR) needs no network.
#
# Environment:
#   SEGMENTER_CACHE_DIR        cache root (default $XDG_CACHE_HOME/segmenter or ~/.cache/segmenter)
#   SEGMENTER_DUCKDB_VERSION   DuckDB version (default: from Cargo.lock's duckdb crate 1.MMmmpp, else 1.5.5);
#                              it must be exactly the DuckDB the program links, or LOAD refuses the file
#   SEGMENTER_DUCKDB_PLATFORM  DuckDB platform (default from uname: linux_amd64, linux_arm64, osx_arm64, windows_amd64)
#   SEGMENTER_DUCKDB_EXTENSION_WHEEL  use this wheel file instead of downloading one
#   PYTHON                     interpreter whose pip downloads the wheel (default python3)
set -euo pipefail

EXT=postgres_scanner
PYPI_PACKAGE=duckdb-extension-postgres-scanner

log() { echo "duckdb-extensions.sh: $*" >&2; }
die() { local code="$1"; shift; log "$*"; exit "$code"; }

. "$(dirname "$0")/cache-root.sh"
[ $# -le 1 ] || { echo "usage: $0 [DIR]" >&2; exit 2; }
case "${1:-}" in -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;; esac
dir="${1:-$cache_root/duckdb-extensions}"
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || die 1 "no $python (needed to download and unpack the wheel; set PYTHON)"

# --- DuckDB version and platform ----------------------------------------------------------------

duckdb_version() {
    if [ -n "${SEGMENTER_DUCKDB_VERSION:-}" ]; then
        echo "${SEGMENTER_DUCKDB_VERSION#v}"
        return
    fi
    # The duckdb crate's version 1.MMmmpp.x wraps DuckDB MM.mm.pp (1.10505.0 -> 1.5.5).
    local lock v
    lock="$(cd "$(dirname "$0")/.." && pwd)/Cargo.lock"
    v="$(awk '/^name = "duckdb"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$lock" 2>/dev/null || true)"
    v="$(echo "$v" | cut -d. -f2)"
    if [[ "$v" =~ ^[0-9]{5,6}$ ]]; then
        echo "$((10#$v / 10000)).$((10#$v / 100 % 100)).$((10#$v % 100))"
    else
        echo 1.5.5
    fi
}

platform_and_wheel_tag() { # sets platform, wheel_tag
    platform="${SEGMENTER_DUCKDB_PLATFORM:-}"
    if [ -z "$platform" ]; then
        case "$(uname -s)/$(uname -m)" in
            Linux/x86_64) platform=linux_amd64 ;;
            Linux/aarch64 | Linux/arm64) platform=linux_arm64 ;;
            Darwin/arm64) platform=osx_arm64 ;;
            Darwin/x86_64) platform=osx_amd64 ;;
            MINGW*/x86_64 | MSYS*/x86_64 | CYGWIN*/x86_64) platform=windows_amd64 ;;
            *) die 1 "unknown platform $(uname -s)/$(uname -m): set SEGMENTER_DUCKDB_PLATFORM" ;;
        esac
    fi
    case "$platform" in
        linux_amd64) wheel_tag=manylinux2014_x86_64 ;;
        linux_arm64) wheel_tag=manylinux2014_aarch64 ;;
        osx_arm64) wheel_tag=macosx_11_0_arm64 ;;
        windows_amd64) wheel_tag=win_amd64 ;;
        *) die 1 "$PYPI_PACKAGE has no wheel for DuckDB platform $platform (it has linux_amd64, linux_arm64, osx_arm64, windows_amd64)" ;;
    esac
}

version="$(duckdb_version)"
platform_and_wheel_tag
target="$dir/v$version/$platform/$EXT.duckdb_extension"
wheels="$cache_root/wheels"
wheel_name="${PYPI_PACKAGE//-/_}-$version-py3-none-$wheel_tag.whl"

# --- the wheel ----------------------------------------------------------------------------------

wheel="${SEGMENTER_DUCKDB_EXTENSION_WHEEL:-$wheels/$wheel_name}"
if [ ! -f "$wheel" ]; then
    [ -z "${SEGMENTER_DUCKDB_EXTENSION_WHEEL:-}" ] || die 1 "SEGMENTER_DUCKDB_EXTENSION_WHEEL=$wheel does not exist"
    mkdir -p "$wheels"
    tmp="$(mktemp -d "$wheels/.download.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    log "downloading $PYPI_PACKAGE==$version ($wheel_tag) from PyPI into $wheels (once)"
    # --platform needs --only-binary; --python-version only matters for the wheel's Requires-Python.
    "$python" -m pip download --disable-pip-version-check --quiet --no-deps --only-binary=:all: \
        --platform "$wheel_tag" --python-version 3.11 -d "$tmp" "$PYPI_PACKAGE==$version" >&2 \
        || die 1 "pip could not download $PYPI_PACKAGE==$version for $wheel_tag (no network to PyPI, or no such version/platform)"
    [ -f "$tmp/$wheel_name" ] || die 1 "pip downloaded $(ls "$tmp") instead of $wheel_name"
    mv "$tmp/$wheel_name" "$wheel"
    rm -rf "$tmp"
    trap - EXIT
fi

# --- unpack (checked against the wheel's RECORD) ------------------------------------------------

mkdir -p "$(dirname "$target")"
"$python" - "$wheel" "$target" "$EXT" "$version" "$platform" <<'EOF' || exit 1
import base64, hashlib, os, sys, tempfile, zipfile

wheel, target, ext, version, platform = sys.argv[1:]
member_suffix = f"/extensions/v{version}/{ext}.duckdb_extension"

def fail(msg):
    print(f"duckdb-extensions.sh: {msg}", file=sys.stderr)
    sys.exit(1)

def digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

try:
    z = zipfile.ZipFile(wheel)
except (OSError, zipfile.BadZipFile) as e:
    fail(f"{wheel} is not a readable wheel ({e}); delete it and run again")
names = [n for n in z.namelist() if n.endswith(member_suffix)]
if len(names) != 1:
    fail(f"{wheel} holds no single *{member_suffix} (it has: {', '.join(z.namelist())})")
member = names[0]
record = next((n for n in z.namelist() if n.endswith(".dist-info/RECORD")), None)
want = None
if record:
    for line in z.read(record).decode().splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) == 3 and parts[0] == member:
            want = parts[1]
if not want:
    fail(f"{wheel}'s RECORD has no hash for {member}")

if os.path.isfile(target):
    with open(target, "rb") as f:
        if digest(f.read()) == want:
            sys.exit(0)  # already provisioned

data = z.read(member)
if digest(data) != want:
    fail(f"{member} in {wheel} does not match its RECORD hash: delete the wheel and run again")
# DuckDB's footer (last 512 bytes) names the platform and the version the build is for.
footer = data[-512:]
if platform.encode() not in footer or f"v{version}".encode() not in footer:
    fail(f"{member} is not a {platform} v{version} build per its footer")
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".tmp-")
with os.fdopen(fd, "wb") as f:
    f.write(data)
os.chmod(tmp, 0o644)
os.replace(tmp, target)
EOF
echo "$dir"
