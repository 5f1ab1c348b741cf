//! Seed-003 authentication: argon2 password hashes, 30-minute HS256 JWTs, and where the
//! signing key comes from. Neither the key nor any password is ever logged.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm as Argon2Algorithm, Argon2, Params, Version};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// How long an access token is valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Shortest signing key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

/// The demo user seeded on an empty store (when enabled), as in seed 003's README.
pub const DEMO_USER: (&str, &str) = ("demo", "password123");

/// Issues and checks access tokens. Only HS256 is accepted: `alg: none` and every other
/// algorithm are refused, and so are tokens past `exp` (no leeway).
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: u64,
    exp: u64,
}

impl Tokens {
    /// Tokens signed with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Tokens { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }

    /// A token for `username`, valid for [`TOKEN_LIFETIME`] from `now`.
    pub fn issue(&self, username: &str, now: SystemTime) -> anyhow::Result<String> {
        let iat = now.duration_since(UNIX_EPOCH)?.as_secs();
        let claims = Claims { sub: username.to_string(), iat, exp: iat + TOKEN_LIFETIME.as_secs() };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// The username a valid token was issued to, or `None` for any invalid token.
    pub fn verify(&self, token: &str) -> Option<String> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok().map(|data| data.claims.sub)
    }
}

/// argon2id with OWASP's equivalent of its 19 MiB, 2-pass minimum: 7 MiB, 5 passes, one lane.
/// The same work in a third of the memory, so that a login (or an account seeded at start)
/// does not lift the app's peak memory by 19 MiB. Hashes made with other parameters still
/// verify: the PHC string carries its own.
fn argon2() -> Argon2<'static> {
    let params = Params::new(7 * 1024, 5, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Argon2Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with argon2id ([`argon2`]) and a random salt, as a PHC string. Slow on
/// purpose: call it off the async threads.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

/// Whether `password` matches the PHC `hash`. Slow on purpose: call it off the async threads.
pub fn verify_password(password: &str, hash: &str) -> bool {
    argon2().verify_password(password.as_bytes(), hash).is_ok()
}

/// A hash that matches no password, checked for unknown users so that a login takes as
/// long whether or not the user exists.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("cloudcomp decoy password").unwrap_or_default())
}

/// Where the generated key lives when none is configured: beside the database.
pub fn default_secret_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().unwrap_or_default().to_os_string();
    name.push(".jwt-key");
    db_path.with_file_name(name)
}

/// Reads the signing key at `path`, creating it (32 random bytes, hex, mode 0600) if absent.
/// Creation is exclusive, so replicas starting together agree on one key.
pub fn load_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut key = [0u8; 32];
    rand::fill(&mut key);
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(mut file) => {
            file.write_all(hex.as_bytes())?;
            file.sync_all()?;
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(err) => {
            return Err(err).with_context(|| format!("cannot create the JWT key file {}", path.display()));
        }
    }
    let stored = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    anyhow::ensure!(stored.trim().len() >= 32, "the JWT key file {} is too short", path.display());
    Ok(stored.trim().as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_user_until_it_expires() {
        let tokens = Tokens::new(b"0123456789abcdef0123456789abcdef");
        let fresh = tokens.issue("alice", SystemTime::now()).unwrap();
        assert_eq!(tokens.verify(&fresh).as_deref(), Some("alice"));
        let old = tokens.issue("alice", SystemTime::now() - TOKEN_LIFETIME - Duration::from_secs(1)).unwrap();
        assert_eq!(tokens.verify(&old), None);
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let ours = Tokens::new(b"0123456789abcdef0123456789abcdef");
        let theirs = Tokens::new(b"another key, another key, another");
        let forged = theirs.issue("alice", SystemTime::now()).unwrap();
        assert_eq!(ours.verify(&forged), None);
    }

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("password123").unwrap();
        assert!(verify_password("password123", &hash));
        assert!(!verify_password("password124", &hash));
        assert!(!verify_password("password123", decoy_hash()));
        assert!(hash.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{hash}");
        let made_with_the_defaults = Argon2::default().hash_password(b"password123").unwrap().to_string();
        assert!(verify_password("password123", &made_with_the_defaults), "older hashes still verify");
    }

    #[test]
    fn the_generated_secret_is_kept_and_private() {
        let dir = std::env::temp_dir().join(format!("cloudcomp-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k");
        let first = load_or_create_secret(&path).unwrap();
        let second = load_or_create_secret(&path).unwrap();
        assert_eq!(first, second);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
