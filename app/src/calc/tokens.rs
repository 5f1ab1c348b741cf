//! The calculator's JWTs, shaped as the original's flask-jwt-extended made them: an access
//! token (30 minutes) and a refresh token (7 days), each carrying the user's id and role and
//! the CSRF value its double-submit cookie must repeat. HS256 with the app's one key.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::error::CalcError;
use super::model::Role;

/// How long an access token is valid.
pub const ACCESS_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// How long a refresh token is valid.
pub const REFRESH_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Which of the two tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Authenticates requests.
    Access,
    /// Only buys a new access token (`GET /refresh`).
    Refresh,
}

/// What a token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The user's role when the token was issued.
    pub role: Role,
    /// Access or refresh.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// The value the CSRF cookie and the `X-CSRF-TOKEN` header must carry.
    pub csrf: String,
    /// A unique id.
    pub jti: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Valid from.
    pub nbf: u64,
    /// Valid until.
    pub exp: u64,
}

/// A freshly issued token and its CSRF value.
pub struct Issued {
    /// The encoded JWT.
    pub token: String,
    /// Its CSRF value.
    pub csrf: String,
}

/// Issues and checks the calculator's tokens.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Tokens {
    /// Tokens signed with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub", "nbf"]);
        Tokens { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }

    /// A `kind` token for the user, valid from `now`.
    pub fn issue(&self, kind: Kind, user_id: &str, role: Role, now: SystemTime) -> Result<Issued, CalcError> {
        let iat = now.duration_since(UNIX_EPOCH).map_err(|e| CalcError::Internal(e.into()))?.as_secs();
        let lifetime = match kind {
            Kind::Access => ACCESS_LIFETIME,
            Kind::Refresh => REFRESH_LIFETIME,
        };
        let csrf = uuid::Uuid::new_v4().to_string();
        let claims = Claims {
            sub: user_id.to_owned(),
            role,
            kind,
            csrf: csrf.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat,
            nbf: iat,
            exp: iat + lifetime.as_secs(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| CalcError::Internal(e.into()))?;
        Ok(Issued { token, csrf })
    }

    /// The claims of a valid `kind` token, or the `{"msg"}` error flask-jwt-extended gave:
    /// 401 for an expired token, 422 for one that does not decode or is of the other kind.
    pub fn decode(&self, token: &str, kind: Kind) -> Result<Claims, CalcError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|err| {
                let msg = match err.kind() {
                    ErrorKind::ExpiredSignature => {
                        return CalcError::Token(StatusCode::UNAUTHORIZED, "Token has expired".into());
                    }
                    ErrorKind::InvalidSignature => "Signature verification failed",
                    ErrorKind::InvalidToken => "Not enough segments",
                    ErrorKind::ImmatureSignature => "The token is not yet valid (nbf)",
                    ErrorKind::InvalidAlgorithm => "The specified alg value is not allowed",
                    _ => "Invalid token",
                };
                CalcError::Token(StatusCode::UNPROCESSABLE_ENTITY, msg.into())
            })?
            .claims;
        if claims.kind != kind {
            let msg = match kind {
                Kind::Access => "Only non-refresh tokens are allowed",
                Kind::Refresh => "Only refresh tokens are allowed",
            };
            return Err(CalcError::Token(StatusCode::UNPROCESSABLE_ENTITY, msg.into()));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn token_error(result: Result<Claims, CalcError>) -> (StatusCode, String) {
        match result {
            Err(CalcError::Token(status, msg)) => (status, msg),
            other => panic!("expected a token error, got {other:?}"),
        }
    }

    #[test]
    fn a_token_carries_its_user_role_and_csrf_value() {
        let tokens = Tokens::new(KEY);
        let issued = tokens.issue(Kind::Access, "u-1", Role::Admin, SystemTime::now()).unwrap();
        let claims = tokens.decode(&issued.token, Kind::Access).unwrap();
        assert_eq!((claims.sub.as_str(), claims.role, claims.csrf), ("u-1", Role::Admin, issued.csrf));
        assert_eq!(claims.exp - claims.iat, ACCESS_LIFETIME.as_secs());
    }

    #[test]
    fn expired_forged_and_wrong_kind_tokens_are_refused_as_the_original_did() {
        let tokens = Tokens::new(KEY);
        let old = SystemTime::now() - ACCESS_LIFETIME - Duration::from_secs(1);
        let expired = tokens.issue(Kind::Access, "u", Role::Client, old).unwrap();
        assert_eq!(token_error(tokens.decode(&expired.token, Kind::Access)).0, StatusCode::UNAUTHORIZED);
        let forged =
            Tokens::new(b"another key, another key, another").issue(Kind::Access, "u", Role::Admin, SystemTime::now());
        let (status, msg) = token_error(tokens.decode(&forged.unwrap().token, Kind::Access));
        assert_eq!((status, msg.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "Signature verification failed"));
        assert_eq!(token_error(tokens.decode("garbage", Kind::Access)).0, StatusCode::UNPROCESSABLE_ENTITY);
        let refresh = tokens.issue(Kind::Refresh, "u", Role::Client, SystemTime::now()).unwrap();
        assert_eq!(token_error(tokens.decode(&refresh.token, Kind::Access)).0, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(tokens.decode(&refresh.token, Kind::Refresh).is_ok());
    }
}
