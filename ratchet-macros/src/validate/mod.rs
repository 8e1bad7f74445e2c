//! Validation: turns parsed input into a typed model, or into errors spanned on the
//! offending token that say what would be valid. `app` checks `#[ratchet::app(...)]`
//! (its keys in `app`, from the tables in `keys`; single values in `values`); `handlers` checks the handler methods.

mod app;
mod handlers;
mod history;
mod keys;
mod values;

pub use app::{app, AppModel};
pub use handlers::{handlers, Handler, HandlerKind, HandlersModel};
pub use history::HistoryRule;
pub use keys::ProtocolChoice;
#[cfg(test)]
pub use keys::KEYS;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit};

/// Gathers errors so that one expansion reports all of them.
#[derive(Default)]
struct Errors(Option<syn::Error>, usize);

impl Errors {
    fn push(&mut self, err: syn::Error) {
        self.1 += 1;
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }

    fn at(&mut self, span: impl Spanned, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span.span(), msg));
    }

    /// An error covering all of `tokens` (a type, a receiver), not only their first.
    fn on(&mut self, tokens: impl quote::ToTokens, msg: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }

    fn finish<T>(self, ok: T) -> syn::Result<T> {
        self.0.map_or(Ok(ok), Err)
    }
}

/// The closest of `options` to `word`, if close enough to be a likely typo.
fn suggest<'a>(word: &str, options: &[&'a str]) -> Option<&'a str> {
    options
        .iter()
        .map(|o| (strsim::levenshtein(word, o), *o))
        .filter(|(d, o)| *d <= 2 || o.starts_with(word) || word.starts_with(o))
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

fn list(options: &[&str]) -> String {
    options
        .iter()
        .map(|o| format!("`{o}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn string_value(value: &Expr) -> Option<(String, Span)> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some((s.value(), s.span())),
        _ => None,
    }
}

/// `["a", "b"]`: each string with its span, or `None` if the value is not a list of
/// string literals.
fn string_list(value: &Expr) -> Option<Vec<(String, Span)>> {
    match value {
        Expr::Array(array) => array.elems.iter().map(string_value).collect(),
        _ => None,
    }
}
