//! Parsing: attribute arguments into `key = value` entries, nothing judged yet.

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Meta, Token};

/// `#[ratchet::app(key = value, ...)]`'s arguments, in order.
pub struct AppArgs {
    pub entries: Vec<Entry>,
}

/// One `key = value`.
pub struct Entry {
    pub key: Ident,
    pub value: Expr,
}

impl AppArgs {
    /// Whether these arguments ask for a generated `main` (anything but `main = false`).
    pub fn wants_main(&self) -> bool {
        !self.entries.iter().any(|e| {
            e.key == "main" && matches!(&e.value, syn::Expr::Lit(l) if matches!(&l.lit, syn::Lit::Bool(b) if !b.value))
        })
    }
}

impl Parse for AppArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let metas = Punctuated::<Meta, Token![,]>::parse_terminated(input)?;
        let mut entries = Vec::new();
        for meta in metas {
            let (path, value) = match meta {
                Meta::NameValue(nv) => (nv.path, nv.value),
                Meta::Path(path) => {
                    let name = quote::quote!(#path).to_string().replace(' ', "");
                    return Err(syn::Error::new_spanned(
                        path,
                        format!("`{name}` needs a value: write `{name} = ...`"),
                    ));
                }
                Meta::List(list) => {
                    return Err(syn::Error::new(
                        list.delimiter.span().join(),
                        "expected `key = value`, not parentheses",
                    ));
                }
            };
            let Some(key) = path.get_ident().cloned() else {
                return Err(syn::Error::new_spanned(
                    path,
                    "expected a key such as `protocol`",
                ));
            };
            entries.push(Entry { key, value });
        }
        Ok(AppArgs { entries })
    }
}
