//! Links DuckDB's official prebuilt C library instead of compiling the bundled C++ sources.
//!
//! Compiling the bundled DuckDB takes ~40 minutes on two cores; DuckDB's own release build of
//! `libduckdb` for each platform ships in its npm packages `@duckdb/node-bindings-<platform>`.
//! This script fetches the pinned package once into a per-user cache (sha512 checked against the
//! registry's published integrity), tells the linker where the library is, copies it next to the
//! binaries and sets an rpath, so `segmenter` runs without `LD_LIBRARY_PATH`.
//!
//! `--features bundled` skips all of this (libduckdb-sys then compiles DuckDB from source).
//! `SEGMENTER_DUCKDB_LIB_DIR` points at a folder that already holds the library (no download);
//! `SEGMENTER_NPM_REGISTRY` replaces `https://registry.npmjs.org` (a mirror);
//! `SEGMENTER_CACHE_DIR` replaces `$XDG_CACHE_HOME/segmenter` (or `$HOME/.cache/segmenter`).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha512};

/// DuckDB v1.5.5 as published by DuckDB Labs (the version the `duckdb` crate `=1.10505.*` wraps).
const PACKAGE_VERSION: &str = "1.5.5-r.5";

/// A platform's npm package: its name suffix, the library file inside it, and the sha512 of the
/// tarball (hex of the registry's `dist.integrity`).
struct Prebuilt {
    platform: &'static str,
    library: &'static str,
    sha512: &'static str,
}

const PREBUILT: &[(&str, &str, Prebuilt)] = &[
    ("linux", "x86_64", Prebuilt {
        platform: "linux-x64",
        library: "libduckdb.so",
        sha512: "902caae815e19fa4177f017cc957552ab8924873feadf556709e7a706f2a67394e669c72bd3e561a6ea332c871838762b4b94eb07b0837f0f8ed162b7235ee1d",
    }),
    ("linux", "aarch64", Prebuilt {
        platform: "linux-arm64",
        library: "libduckdb.so",
        sha512: "09a7c7d8022f5eda700f29c6dca07fe2e10e1d11a516807b6ae091308c07dc128d2286ec00d5792d2a43277b5fc9108522c2ba7bc013d5eb1e5959eed83bf773",
    }),
    ("macos", "aarch64", Prebuilt {
        platform: "darwin-arm64",
        library: "libduckdb.dylib",
        sha512: "58975e2d3172e29460eb4ae46e9f6c9ad94fd62210f04aed2099314bed8b42d335659312072c96fb758fa4da0a7bb2303ed565d9f2e53f0eed0e6416e19f7be2",
    }),
    ("macos", "x86_64", Prebuilt {
        platform: "darwin-x64",
        library: "libduckdb.dylib",
        sha512: "acdd0a8d7d77330550e55e6e7f292896dcbfb5fe1269a7cea4659c500d427a07fdf233de45db09b0413520c5e7f27deee96bcc4991152661c9de66b81ebed5ce",
    }),
];

type BuildResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for var in ["SEGMENTER_DUCKDB_LIB_DIR", "SEGMENTER_NPM_REGISTRY", "SEGMENTER_CACHE_DIR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    if env::var_os("CARGO_FEATURE_BUNDLED").is_some() {
        return;
    }
    if let Err(err) = link_prebuilt() {
        panic!(
            "\n\nsegmenter: could not set up DuckDB's prebuilt library: {err}\n\
             Either point SEGMENTER_DUCKDB_LIB_DIR at a folder holding libduckdb {PACKAGE_VERSION} \
             (from the npm package @duckdb/node-bindings-<platform>), set SEGMENTER_NPM_REGISTRY \
             to a reachable npm mirror, or compile DuckDB from source (~40 minutes): \
             cargo build --release --features bundled\n"
        );
    }
}

fn link_prebuilt() -> BuildResult<()> {
    let os = env::var("CARGO_CFG_TARGET_OS")?;
    let arch = env::var("CARGO_CFG_TARGET_ARCH")?;
    let (library, lib_dir) = match env::var_os("SEGMENTER_DUCKDB_LIB_DIR") {
        Some(dir) => (library_name(&os), PathBuf::from(dir)),
        None => {
            let prebuilt = PREBUILT
                .iter()
                .find(|(o, a, _)| *o == os && *a == arch)
                .map(|(_, _, p)| p)
                .ok_or_else(|| format!("DuckDB publishes no prebuilt library for {os}/{arch}"))?;
            (prebuilt.library, fetch(prebuilt)?)
        }
    };
    let source = lib_dir.join(library);
    if !source.is_file() {
        return Err(format!("{} does not exist", source.display()).into());
    }
    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    copy_next_to_binaries(&source, library)?;
    let origin = if os == "macos" { "@loader_path" } else { "$ORIGIN" };
    // The binary finds the copy beside it; test binaries (in deps/) the one a folder up; a binary
    // copied elsewhere on this machine still finds the cached original.
    for dir in [origin.to_string(), format!("{origin}/.."), lib_dir.display().to_string()] {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    Ok(())
}

fn library_name(os: &str) -> &'static str {
    if os == "macos" { "libduckdb.dylib" } else { "libduckdb.so" }
}

/// The cached folder holding the library, downloading and verifying the package if needed.
fn fetch(prebuilt: &Prebuilt) -> BuildResult<PathBuf> {
    let dir = cache_root()?.join("duckdb").join(PACKAGE_VERSION).join(prebuilt.platform);
    // The marker is written only after the checksum matched and the library was extracted.
    let marker = dir.join(".verified");
    if marker.is_file() && dir.join(prebuilt.library).is_file() {
        return Ok(dir);
    }
    let registry = env::var("SEGMENTER_NPM_REGISTRY")
        .unwrap_or_else(|_| "https://registry.npmjs.org".to_string());
    let url = format!(
        "{}/@duckdb/node-bindings-{p}/-/node-bindings-{p}-{PACKAGE_VERSION}.tgz",
        registry.trim_end_matches('/'),
        p = prebuilt.platform
    );
    let tarball = download(&url)?;
    let digest = hex(&Sha512::digest(&tarball));
    if digest != prebuilt.sha512 {
        return Err(format!("{url}: sha512 {digest} does not match the pinned {}", prebuilt.sha512).into());
    }
    fs::create_dir_all(&dir)?;
    extract_library(&tarball, prebuilt.library, &dir)?;
    fs::write(&marker, prebuilt.sha512)?;
    println!("cargo:warning=fetched DuckDB's prebuilt library {url} (sha512 checked) into {}", dir.display());
    Ok(dir)
}

fn cache_root() -> BuildResult<PathBuf> {
    if let Some(dir) = env::var_os("SEGMENTER_CACHE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("segmenter"));
    }
    match env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("segmenter")),
        None => Ok(PathBuf::from(env::var("OUT_DIR")?).join("segmenter-cache")),
    }
}

/// Downloads with `curl`, which uses the system's certificate store and proxy settings (a
/// TLS-inspecting proxy's CA is often only there).
fn download(url: &str) -> BuildResult<Vec<u8>> {
    let file = PathBuf::from(env::var("OUT_DIR")?).join("duckdb-prebuilt.tgz");
    let status = Command::new("curl")
        .args(["--fail", "--silent", "--show-error", "--location", "--retry", "3", "--output"])
        .arg(&file)
        .arg(url)
        .status()
        .map_err(|e| format!("cannot run curl to download {url}: {e}"))?;
    if !status.success() {
        return Err(format!("curl could not download {url} ({status})").into());
    }
    let bytes = fs::read(&file)?;
    let _ = fs::remove_file(&file);
    Ok(bytes)
}

/// Extracts `package/<library>` from the npm tarball into `dir`, through a temporary name so a
/// killed build never leaves a truncated library behind.
fn extract_library(tarball: &[u8], library: &str, dir: &Path) -> BuildResult<()> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.path()?.as_ref() == Path::new("package").join(library) {
            let partial = dir.join(format!("{library}.partial"));
            entry.unpack(&partial)?;
            fs::rename(&partial, dir.join(library))?;
            return Ok(());
        }
    }
    Err(format!("the package holds no {library}").into())
}

/// Copies the library into the profile folder (`target/release/`), beside the binaries, so the
/// folder can be shipped as is. OUT_DIR is `<profile>/build/<crate>-<hash>/out`.
fn copy_next_to_binaries(source: &Path, library: &str) -> BuildResult<()> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let Some(profile_dir) = out_dir.ancestors().nth(3) else {
        return Ok(());
    };
    let partial = profile_dir.join(format!("{library}.partial"));
    fs::copy(source, &partial)?;
    fs::rename(&partial, profile_dir.join(library))?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
