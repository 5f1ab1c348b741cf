//! A release: what the local replicas run. The app (for the process runtime a copy of the
//! binary kept per content hash under `<dir>/releases/`, since a rebuild replaces the file
//! and a rollback needs the old one; for the docker runtime the image, whose tag is already a
//! content hash) and its environment: the stack's `app.env`, and the app settings cloudcomp
//! passes as variables ([`environment`]). Its id is a short hash of both, so that a change to
//! anything a replica reads at start is a new release, rolled out replica by replica.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::stack::App;

/// One version of what the replicas run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// A short hash of the app and its environment.
    pub id: String,
    /// The app: the binary's kept copy (process runtime) or the image (docker runtime).
    pub app: String,
    /// The environment variables every replica gets ([`environment`]).
    pub env: BTreeMap<String, String>,
}

impl Release {
    /// The release of `app`, whose content hashes to `app_hash`, with `env`.
    pub fn new(app: String, app_hash: &str, env: BTreeMap<String, String>) -> Release {
        let mut hasher = Sha256::new();
        hasher.update(app_hash.as_bytes());
        for (name, value) in &env {
            hasher.update(format!("\n{name}={value}").as_bytes());
        }
        Release { id: hex(&hasher.finalize(), 6), app, env }
    }

    /// The release of the image `image` (`cloudcomp-app:<content hash>`) with `env`.
    pub fn of_image(image: &str, env: BTreeMap<String, String>) -> Release {
        Release::new(image.to_string(), image, env)
    }

    /// The release of the app binary `binary` with `env`: the binary is kept, hard-linked
    /// when possible, at `<dir>/releases/<content hash>/cloudcomp-app`.
    pub fn of_binary(dir: &Path, binary: &Path, env: BTreeMap<String, String>) -> anyhow::Result<Release> {
        let source = binary.canonicalize().with_context(|| format!("finding {}", binary.display()))?;
        let hash = file_hash(&source)?;
        let kept = keep(dir, &source, &hash)?;
        Ok(Release::new(kept.to_string_lossy().into_owned(), &hash, env))
    }

    /// What a person calls its app: the image, or the binary's hash.
    pub fn app_name(&self) -> String {
        let path = Path::new(&self.app);
        match path.parent().and_then(Path::file_name) {
            Some(hash) if path.is_absolute() => format!("binary {}", hash.to_string_lossy()),
            _ => self.app.clone(),
        }
    }
}

/// The environment of every replica of `app`: `app.env`, and whether to seed the demo
/// accounts (`app.demo_user`, on by default here), as AWS instances get them.
pub fn environment(app: &App) -> BTreeMap<String, String> {
    let mut env = app.env.clone();
    let demo = app.demo_accounts(true).to_string();
    env.insert("CLOUDCOMP_DEMO_USER".into(), demo.clone());
    env.insert("CLOUDCOMP_CALC_ACCOUNTS".into(), demo);
    env
}

/// The first `bytes` bytes of `digest` in hex.
fn hex(digest: &[u8], bytes: usize) -> String {
    digest.iter().take(bytes).map(|b| format!("{b:02x}")).collect()
}

/// A short hash of the file at `path`'s content.
fn file_hash(path: &Path) -> anyhow::Result<String> {
    let mut file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize(), 8))
}

/// `<dir>/releases/<hash>/cloudcomp-app`: `source` linked (or copied) there unless already kept.
fn keep(dir: &Path, source: &Path, hash: &str) -> anyhow::Result<PathBuf> {
    let release_dir = dir.join("releases").join(hash);
    let kept = release_dir.join(super::APP_NAME);
    if kept.is_file() {
        return Ok(kept);
    }
    std::fs::create_dir_all(&release_dir).with_context(|| format!("creating {}", release_dir.display()))?;
    let partial = release_dir.join(format!(".{}.partial", super::APP_NAME));
    let _ = std::fs::remove_file(&partial);
    if std::fs::hard_link(source, &partial).is_err() {
        std::fs::copy(source, &partial).with_context(|| format!("copying {}", source.display()))?;
    }
    std::fs::rename(&partial, &kept).with_context(|| format!("keeping {}", kept.display()))?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_follows_the_binary_content_and_the_env() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("app");
        std::fs::write(&binary, "v1").unwrap();
        let env = BTreeMap::from([("CLOUDCOMP_RATE_LOGIN".to_string(), "10".to_string())]);
        let first = Release::of_binary(dir.path(), &binary, BTreeMap::new()).unwrap();
        assert_eq!(first, Release::of_binary(dir.path(), &binary, BTreeMap::new()).unwrap());
        let with_env = Release::of_binary(dir.path(), &binary, env).unwrap();
        assert_ne!(first.id, with_env.id, "the env is part of the release");
        assert_eq!(first.app, with_env.app, "one copy per binary");
        // A rebuild replaces the file: the old release keeps its copy.
        std::fs::remove_file(&binary).unwrap();
        std::fs::write(&binary, "v2").unwrap();
        let second = Release::of_binary(dir.path(), &binary, BTreeMap::new()).unwrap();
        assert_ne!((&first.id, &first.app), (&second.id, &second.app));
        assert_eq!(std::fs::read_to_string(&first.app).unwrap(), "v1");
        assert!(first.app.ends_with("/cloudcomp-app"), "{}", first.app);
        assert!(first.app_name().starts_with("binary "), "{}", first.app_name());
        assert_eq!(Release::of_image("cloudcomp-app:ab12", BTreeMap::new()).app_name(), "cloudcomp-app:ab12");
    }

    #[test]
    fn the_environment_carries_the_demo_account_setting() {
        let stack = crate::stack::parse("name: t\napp: { demo_user: true, env: { X: '1' } }\n").unwrap();
        let env = environment(&stack.app);
        assert_eq!(env.get("CLOUDCOMP_DEMO_USER").map(String::as_str), Some("true"));
        assert_eq!(env.get("X").map(String::as_str), Some("1"));
        assert_eq!(env.get("CLOUDCOMP_CALC_ACCOUNTS").map(String::as_str), Some("true"));
        let default = environment(&crate::stack::parse("name: t\n").unwrap().app);
        assert_eq!(default.get("CLOUDCOMP_DEMO_USER").map(String::as_str), Some("true"), "on locally by default");
        let off = environment(&crate::stack::parse("name: t\napp: { demo_user: false }\n").unwrap().app);
        assert_eq!(off.get("CLOUDCOMP_CALC_ACCOUNTS").map(String::as_str), Some("false"));
    }
}
