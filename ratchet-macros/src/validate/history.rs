//! `history = [("chat*", 100, "5m")]`: which topics keep a history, how many messages
//! and for how long.

use super::{string_value, Errors};
use syn::{Expr, ExprLit, Lit};

/// One rule: the topic pattern, the messages kept, and for how long (milliseconds).
pub struct HistoryRule {
    pub pattern: String,
    pub len: usize,
    pub ttl_ms: u64,
}

const EXAMPLE: &str = "`history = [(\"chat*\", 100, \"5m\")]`";

/// The rules of `value`: one `(pattern, length, duration)` or a list of them.
pub(super) fn history(value: &Expr, errors: &mut Errors) -> Vec<HistoryRule> {
    let rules: Vec<&Expr> = match value {
        Expr::Array(list) => list.elems.iter().collect(),
        Expr::Tuple(_) => vec![value],
        _ => {
            errors.at(value, format!("`history` takes (topic pattern, messages kept, how long), or a list of them, e.g. {EXAMPLE}"));
            return Vec::new();
        }
    };
    rules
        .into_iter()
        .filter_map(|rule| one(rule, errors))
        .collect()
}

fn one(rule: &Expr, errors: &mut Errors) -> Option<HistoryRule> {
    let Expr::Tuple(tuple) = rule else {
        errors.at(
            rule,
            format!("a history rule is (topic pattern, messages kept, how long), e.g. {EXAMPLE}"),
        );
        return None;
    };
    let [pattern, len, ttl] = tuple.elems.iter().collect::<Vec<_>>()[..] else {
        errors.at(rule, format!("a history rule has three parts: (topic pattern, messages kept, how long), e.g. {EXAMPLE}"));
        return None;
    };
    let pattern = match string_value(pattern) {
        Some((text, _)) if !text.is_empty() => Some(text),
        _ => {
            errors.at(
                pattern,
                "the topic pattern is a string, `*` for any run of characters: \"chat*\"",
            );
            None
        }
    };
    let len = match len {
        Expr::Lit(ExprLit {
            lit: Lit::Int(n), ..
        }) => match n.base10_parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                errors.at(n, "the messages kept are a number above 0");
                None
            }
        },
        _ => {
            errors.at(len, "the messages kept are a number, e.g. 100");
            None
        }
    };
    let ttl = match string_value(ttl) {
        Some((text, span)) => match duration_ms(&text) {
            Some(ms) if ms > 0 => Some(ms),
            _ => {
                errors.at(span, format!("\"{text}\" is not a duration: write \"500ms\", \"30s\", \"5m\", \"2h\" or \"1d\""));
                None
            }
        },
        None => {
            errors.at(ttl, "how long is a duration string, e.g. \"5m\"");
            None
        }
    };
    Some(HistoryRule {
        pattern: pattern?,
        len: len?,
        ttl_ms: ttl?,
    })
}

/// `"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"` in milliseconds.
fn duration_ms(text: &str) -> Option<u64> {
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(digits);
    let n: u64 = n.parse().ok()?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_their_units() {
        assert_eq!(duration_ms("500ms"), Some(500));
        assert_eq!(duration_ms("5m"), Some(300_000));
        assert_eq!(duration_ms("1d"), Some(86_400_000));
        assert_eq!(duration_ms("5"), None);
        assert_eq!(duration_ms("m"), None);
        assert_eq!(duration_ms("5 min"), None);
    }
}
