//! Keeping DSNs and passwords out of every message.
//!
//! DuckDB's postgres extension repeats the whole DSN, password included, in its connection
//! errors, and such a message can surface from any statement that scans an attached database.
//! Each DSN the process reads is registered here; [`redact`] replaces the DSN by the name of
//! its environment variable and the password by `***`. `execute::first_line`, through which
//! every DuckDB message passes, applies it.

use std::sync::{Mutex, PoisonError};

/// (secret, what stands in its place), longest secret first.
static SECRETS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Remember `dsn` (read from `$env`) and its password, to be redacted from then on.
pub fn register(dsn: &str, env: &str) {
    let mut secrets = SECRETS.lock().unwrap_or_else(PoisonError::into_inner);
    let mut add = |secret: &str, stand_in: String| {
        if !secret.is_empty() && !secrets.iter().any(|(s, _)| s == secret) {
            secrets.push((secret.to_string(), stand_in));
        }
    };
    add(dsn, format!("${env}"));
    if let Some(password) = password(dsn) {
        add(&password, "***".to_string());
    }
    secrets.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
}

/// `text` with every registered DSN and password replaced.
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(PoisonError::into_inner);
    secrets.iter().fold(text.to_string(), |t, (secret, stand_in)| t.replace(secret, stand_in))
}

/// The password of a libpq DSN: `password=...` of the key/value form (plain or single-quoted
/// with `\` escapes), or the password of a `postgres://user:password@host` URI or its
/// `?password=` parameter.
pub fn password(dsn: &str) -> Option<String> {
    let dsn = dsn.trim();
    if let Some(rest) = dsn.strip_prefix("postgresql://").or_else(|| dsn.strip_prefix("postgres://")) {
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let from_userinfo = authority.rsplit_once('@').and_then(|(userinfo, _)| userinfo.split_once(':')).map(|(_, p)| p.to_string());
        let from_query = rest.split_once('?').and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("password=")).map(str::to_string));
        return from_userinfo.or(from_query).filter(|p| !p.is_empty());
    }
    key_value_password(dsn)
}

fn key_value_password(dsn: &str) -> Option<String> {
    let mut chars = dsn.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        if key.is_empty() {
            return None;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        chars.next_if_eq(&'=')?;
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            value.extend(std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())));
        }
        if key == "password" {
            return Some(value).filter(|v| !v.is_empty());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_found_in_both_dsn_forms() {
        assert_eq!(password("host=h port=5 dbname=d user=u password=s3cret").as_deref(), Some("s3cret"));
        assert_eq!(password("password = 'it''s' host=h").as_deref(), Some("it"));
        assert_eq!(password(r"host=h password='a b\'c' user=u").as_deref(), Some("a b'c"));
        assert_eq!(password("postgresql://u:pw%40x@h:5432/d").as_deref(), Some("pw%40x"));
        assert_eq!(password("postgres://u@h/d?sslmode=require&password=qq").as_deref(), Some("qq"));
        assert_eq!(password("host=h user=u"), None);
        assert_eq!(password("postgresql://h/d"), None);
    }

    #[test]
    fn registered_dsns_and_passwords_are_redacted() {
        let dsn = "host=127.0.0.1 dbname=d user=u password=hunter2-redact-test";
        register(dsn, "TEST_DSN");
        assert_eq!(redact(&format!("Unable to connect to Postgres at \"{dsn}\": refused")), "Unable to connect to Postgres at \"$TEST_DSN\": refused");
        assert_eq!(redact("echo hunter2-redact-test"), "echo ***");
    }
}
