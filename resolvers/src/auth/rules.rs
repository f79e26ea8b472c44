//! Input rules for identity: email syntax and the password policy (documented in the README).

use crate::ApiError;

pub const EMAIL_MAX_CHARS: usize = 254;
pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// Lower-cased, trimmed: emails compare case-insensitively.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A pragmatic syntax check: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn validate_email(field: &str, email: &str) -> Result<(), ApiError> {
    let bad = |m: &str| Err(ApiError::bad_input(field, m));
    if email.chars().count() > EMAIL_MAX_CHARS {
        return bad("must be at most 254 characters");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("is not an email address");
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    if local.is_empty()
        || local.len() > 64
        || !domain_ok
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return bad("is not an email address");
    }
    Ok(())
}

/// 10 to 128 characters, at least one letter and one digit, not the email itself.
pub fn validate_password(field: &str, password: &str, email: &str) -> Result<(), ApiError> {
    let bad = |m: String| Err(ApiError::bad_input(field, m));
    let n = password.chars().count();
    if n < PASSWORD_MIN_CHARS {
        return bad(format!("must be at least {PASSWORD_MIN_CHARS} characters"));
    }
    if n > PASSWORD_MAX_CHARS {
        return bad(format!("must be at most {PASSWORD_MAX_CHARS} characters"));
    }
    if !password.chars().any(char::is_alphabetic) || !password.chars().any(|c| c.is_ascii_digit()) {
        return bad("must contain at least one letter and one digit".into());
    }
    if password.eq_ignore_ascii_case(email) {
        return bad("must not be the email address".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["a@example.com", "first.last+tag@sub.example.org"] {
            assert!(validate_email("email", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@example.com",
            "a@.com",
            "a b@example.com",
            "a@example..com",
        ] {
            assert_eq!(
                validate_email("email", bad)
                    .err()
                    .and_then(|e| e.field().map(String::from)),
                Some("email".into()),
                "{bad}"
            );
        }
    }

    #[test]
    fn passwords() {
        assert!(validate_password("password", "correct horse 1", "a@b.co").is_ok());
        for bad in ["short1", "onlyletters", "1234567890123", &"a1".repeat(65)] {
            assert!(
                validate_password("password", bad, "a@b.co").is_err(),
                "{bad}"
            );
        }
        assert!(validate_password("password", "a1@example.com", "A1@example.com").is_err());
    }
}
