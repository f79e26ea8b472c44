//! The embedded issuer for local use: an Ed25519 key generated on first start and kept in the
//! data directory, so tokens survive restarts and `mercado dev-token` signs what the server
//! trusts.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use aws_lc_rs::{
    digest,
    rand::SystemRandom,
    signature::{Ed25519KeyPair, KeyPair},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{EncodingKey, Header, jwk::JwkSet};
use mercado_resolvers::Role;

use crate::StartupError;

const KEY_FILE: &str = "jwt-signing-key.ed25519.pk8";

#[derive(Clone)]
pub struct LocalIssuer {
    kid: String,
    public_key: Vec<u8>,
    encoding: EncodingKey,
    issuer: String,
    audience: String,
    roles_claim: String,
}

impl LocalIssuer {
    pub fn load_or_create(
        data_dir: &Path,
        issuer: &str,
        audience: &str,
        roles_claim: &str,
    ) -> Result<Self, StartupError> {
        let path = data_dir.join(KEY_FILE);
        let der = match std::fs::read(&path) {
            Ok(der) => der,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key(data_dir, &path)?,
            Err(e) => {
                return Err(StartupError::Auth(format!("read {}: {e}", path.display())));
            }
        };
        let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|e| {
            StartupError::Auth(format!(
                "{} is not an Ed25519 PKCS#8 key: {e}",
                path.display()
            ))
        })?;
        let public_key = pair.public_key().as_ref().to_vec();
        let fingerprint = digest::digest(&digest::SHA256, &public_key);
        let kid = URL_SAFE_NO_PAD.encode(&fingerprint.as_ref()[..12]);
        Ok(Self {
            kid,
            public_key,
            encoding: EncodingKey::from_ed_der(&der),
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            roles_claim: roles_claim.to_string(),
        })
    }

    /// The public key set that verifies this issuer's tokens.
    pub fn jwks(&self) -> JwkSet {
        let jwk = serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(&self.public_key),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        });
        serde_json::from_value(serde_json::json!({ "keys": [jwk] }))
            .unwrap_or(JwkSet { keys: Vec::new() })
    }

    /// Signs a token for `subject` with `roles`, valid for `ttl_seconds`.
    pub fn issue(&self, subject: &str, roles: &[Role], ttl_seconds: i64) -> Result<String, String> {
        self.issue_with_email(subject, None, roles, ttl_seconds)
    }

    /// As [`Self::issue`], with an `email` claim.
    pub fn issue_with_email(
        &self,
        subject: &str,
        email: Option<&str>,
        roles: &[Role],
        ttl_seconds: i64,
    ) -> Result<String, String> {
        let now = chrono::Utc::now().timestamp();
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), subject.into());
        claims.insert("iss".into(), self.issuer.clone().into());
        claims.insert("aud".into(), self.audience.clone().into());
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), (now + ttl_seconds).into());
        claims.insert("jti".into(), uuid::Uuid::new_v4().to_string().into());
        if let Some(email) = email {
            claims.insert("email".into(), email.into());
        }
        claims.insert(
            self.roles_claim.clone(),
            roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().into(),
        );
        let mut header = Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(|e| e.to_string())
    }
}

/// Generates a key and writes it with owner-only permissions. Two processes racing here agree:
/// the file is created exclusively and the loser reads the winner's key.
fn create_key(dir: &Path, path: &PathBuf) -> Result<Vec<u8>, StartupError> {
    std::fs::create_dir_all(dir)?;
    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map_err(|e| StartupError::Auth(format!("generate key: {e}")))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(doc.as_ref())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "generated the local token-signing key");
            Ok(doc.as_ref().to_vec())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Give the winner a moment to finish writing.
            std::thread::sleep(std::time::Duration::from_millis(50));
            Ok(std::fs::read(path)?)
        }
        Err(e) => Err(e.into()),
    }
}
