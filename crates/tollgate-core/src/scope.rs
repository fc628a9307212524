//! Scope strings (RFC 6749 section 3.3): space-delimited, order-insensitive sets of NQCHAR tokens.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope {0:?} contains characters outside RFC 6749's scope-token syntax")]
pub struct InvalidScopeToken(pub String);

/// Splits a scope parameter into distinct tokens, keeping first-seen order.
pub fn parse(raw: &str) -> Result<Vec<String>, InvalidScopeToken> {
    let mut out: Vec<String> = Vec::new();
    for token in raw.split(' ').filter(|t| !t.is_empty()) {
        if !is_scope_token(token) {
            return Err(InvalidScopeToken(token.chars().take(64).collect()));
        }
        if !out.iter().any(|t| t == token) {
            out.push(token.to_owned());
        }
    }
    Ok(out)
}

pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// The tokens of a scope we issued ourselves (validated when it was granted).
pub fn tokens(issued: &str) -> Vec<String> {
    issued
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_dedups_and_validates() {
        assert_eq!(
            parse("read  write read"),
            Ok(vec!["read".to_string(), "write".to_string()])
        );
        assert_eq!(parse(""), Ok(vec![]));
        assert!(parse("read\"").is_err());
        assert!(parse("caf\u{e9}").is_err());
    }

    proptest! {
        #[test]
        fn parsed_tokens_are_valid_and_rejoin(s in "[ a-z:\\.]{0,40}") {
            let tokens = parse(&s).unwrap_or_default();
            for t in &tokens {
                prop_assert!(is_scope_token(t));
            }
            prop_assert_eq!(parse(&join(&tokens)).unwrap_or_default(), tokens);
        }
    }
}
