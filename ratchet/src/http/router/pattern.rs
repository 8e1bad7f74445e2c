//! Route patterns: an exact path, or a prefix ending in `/*`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    pub(super) fn parse(pattern: &str) -> Result<Self, String> {
        if !pattern.starts_with('/') {
            return Err(format!("route pattern {pattern:?} must start with '/'"));
        }
        if pattern.contains(['?', '#', ' ']) {
            return Err(format!("route pattern {pattern:?} must be a bare path"));
        }
        match pattern.strip_suffix('*') {
            Some(prefix) if prefix.ends_with('/') => Ok(Pattern::Prefix(prefix.to_owned())),
            Some(_) => Err(format!(
                "route pattern {pattern:?}: '*' only ends a prefix ('/x/*')"
            )),
            None if pattern.contains('*') => Err(format!(
                "route pattern {pattern:?}: '*' only ends a prefix ('/x/*')"
            )),
            None => Ok(Pattern::Exact(pattern.to_owned())),
        }
    }

    /// How well `path` matches: higher is more specific.
    pub(super) fn score(&self, path: &str) -> Option<usize> {
        match self {
            Pattern::Exact(p) => (p == path).then_some(usize::MAX),
            Pattern::Prefix(p) => {
                // "/assets/*" also takes "/assets", which the route can redirect.
                let matches = path.starts_with(p.as_str()) || path == &p[..p.len() - 1];
                matches.then_some(p.len())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(Pattern::parse("/chat"), Ok(Pattern::Exact("/chat".into())));
        assert_eq!(Pattern::parse("/*"), Ok(Pattern::Prefix("/".into())));
        assert_eq!(Pattern::parse("/a/*"), Ok(Pattern::Prefix("/a/".into())));
        for bad in ["chat", "", "/a*", "/a/*/b", "/a?x=1", "*"] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }
}
