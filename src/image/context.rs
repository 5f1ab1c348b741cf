//! The build context, assembled by cloudcomp itself (nothing can be pulled): the Dockerfile
//! from `templates/`, the static app binary and the CA certificates, as a tar archive whose
//! content hash is the image tag — an unchanged app gets the same tag and is neither rebuilt
//! nor pushed again.

use sha2::{Digest, Sha256};

/// The Dockerfile of the app image.
pub const DOCKERFILE: &str = include_str!("../../templates/Dockerfile");

/// Where the host keeps its CA bundle (Debian, Ubuntu, Alpine, Amazon Linux's symlink).
pub const HOST_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A build context ready to send to the Docker engine.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// The tar archive.
    pub tar: Vec<u8>,
    /// The image tag: the first 16 hex digits of the archive's SHA-256.
    pub tag: String,
}

/// Packs the Dockerfile, `app_binary` (as `cloudcomp-app`, mode 0755), `ca_bundle` and an
/// empty `data/` directory.
/// Entries carry fixed owners and times, so the same inputs always give the same tag.
pub fn assemble(app_binary: &[u8], ca_bundle: &[u8]) -> std::io::Result<BuildContext> {
    let mut archive = tar::Builder::new(Vec::new());
    for (name, mode, bytes) in [
        ("Dockerfile", 0o644, DOCKERFILE.as_bytes()),
        ("ca-certificates.crt", 0o644, ca_bundle),
        ("cloudcomp-app", 0o755, app_binary),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        archive.append_data(&mut header, name, bytes)?;
    }
    let mut data = tar::Header::new_gnu();
    data.set_entry_type(tar::EntryType::Directory);
    data.set_size(0);
    data.set_mode(0o755);
    data.set_mtime(0);
    archive.append_data(&mut data, "data/", std::io::empty())?;
    let tar = archive.into_inner()?;
    let digest = Sha256::digest(&tar);
    let tag = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Ok(BuildContext { tar, tag })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_follows_the_content_only() {
        let a = assemble(b"app v1", b"certs").unwrap();
        assert_eq!(a.tag, assemble(b"app v1", b"certs").unwrap().tag, "same inputs, same tag");
        assert_ne!(a.tag, assemble(b"app v2", b"certs").unwrap().tag);
        assert_ne!(a.tag, assemble(b"app v1", b"other certs").unwrap().tag);
        assert_eq!(a.tag.len(), 16);
    }

    #[test]
    fn the_archive_holds_the_files_and_the_data_directory_with_their_modes() {
        let context = assemble(b"binary", b"certs").unwrap();
        let mut archive = tar::Archive::new(context.tar.as_slice());
        let entries: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().display().to_string(), e.header().mode().unwrap())
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("Dockerfile".into(), 0o644),
                ("ca-certificates.crt".into(), 0o644),
                ("cloudcomp-app".into(), 0o755),
                ("data/".into(), 0o755)
            ]
        );
    }
}
