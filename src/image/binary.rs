//! The static `cloudcomp-app` binary the image carries (`FROM scratch` has no libc, so it
//! must be linked with `-C target-feature=+crt-static`).
//!
//! Found, in order: `--app-binary` / `CLOUDCOMP_APP_BINARY`; else, when cloudcomp runs from
//! its source checkout, built by cargo for the host's gnu target with crt-static, in the
//! link-time optimised `dist` profile (an incremental no-op once built).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// The workspace cloudcomp was built from, if it is still there.
fn checkout() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    root.join("app").join("Cargo.toml").is_file().then_some(root)
}

/// The target triple static builds use: the host's, gnu.
fn static_target() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// The static app binary: `explicit` when given, else built from the checkout.
pub fn locate(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        anyhow::ensure!(path.is_file(), "app binary {} does not exist", path.display());
        return Ok(path.to_path_buf());
    }
    let root = checkout().ok_or_else(|| {
        anyhow::anyhow!(
            "no static cloudcomp-app binary: pass --app-binary (or CLOUDCOMP_APP_BINARY); build one with \
             RUSTFLAGS='-C target-feature=+crt-static' cargo build --profile dist --target {} -p cloudcomp-app",
            static_target()
        )
    })?;
    build_static(&root)
}

/// Builds `cloudcomp-app` statically linked, in the `dist` profile, from the checkout at `root`.
fn build_static(root: &Path) -> anyhow::Result<PathBuf> {
    let target = static_target();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    eprintln!(
        "Building the static cloudcomp-app for the image ({target}, dist profile; the first build takes minutes)…"
    );
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args(["build", "--profile", "dist", "--quiet", "-p", "cloudcomp-app", "--target", &target])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .status()
        .context("running cargo to build the static app (is the Rust toolchain installed?)")?;
    anyhow::ensure!(status.success(), "building the static cloudcomp-app failed ({status})");
    Ok(target_dir.join(target).join("dist").join("cloudcomp-app"))
}
