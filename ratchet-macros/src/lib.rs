//! The attributes behind ratchet's DSL. Use them through the `ratchet` crate:
//! `#[ratchet::app(...)]` on a struct, `#[ratchet::handlers]` on its `impl` block.
//!
//! Each attribute goes parse → validate → expand, one module each. Errors never panic:
//! they are `syn::Error`s spanned on the user's token, emitted beside the user's item
//! unchanged so that editors keep working.

mod expand;
mod parse;
mod validate;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::ToTokens;

/// Serves the annotated struct: `#[ratchet::app(protocol = "websocket", bind = "127.0.0.1:8080")]`.
///
/// Keys (all optional):
/// - `protocol`: `"websocket"` (default) or `"line"`; chooses the decorator stack.
/// - `bind`: the default address (`127.0.0.1:8080`); `--bind ADDR` and `RATCHET_BIND`
///   override it at run time.
/// - `main`: `true` (default) generates `fn main`; `false` generates none.
/// - `deflate`: `true` turns on permessage-deflate (WebSocket only; default `false`).
///
/// The struct must implement `Default` (the generated `main` builds it that way).
#[proc_macro_attribute]
pub fn app(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut item2 = TokenStream2::from(item.clone());
    let args = syn::parse::<parse::AppArgs>(args);
    if args.as_ref().map_or(true, parse::AppArgs::wants_main) {
        // Emitted only beside errors, so they are not followed by "`main` not found".
        item2.extend(quote::quote!(
            fn main() {}
        ));
    }
    let result = args
        .and_then(|args| Ok((args, syn::parse::<syn::Item>(item)?)))
        .and_then(|(args, item)| validate::app(args, item))
        .map(|model| expand::app(&model));
    finish("app", item2, result)
}

/// Implements `ratchet::Component` from the handler methods of an `impl` block:
/// `on_open`, `on_message`, `on_close`, `on_error`, `on_timer`, each optional.
///
/// Messages may be taken as `&str`, `String`, `&[u8]`, `Vec<u8>`, `Message` or `Payload`;
/// handlers may return nothing, a `Command`, `Commands`, `Option<_>`, `Vec<_>`, or
/// `Result<_, E>` whose `Err` goes to `on_error`.
#[proc_macro_attribute]
pub fn handlers(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut item2 = TokenStream2::from(item.clone());
    let args = TokenStream2::from(args);
    let parsed = syn::parse::<syn::ItemImpl>(item);
    if let Ok(item) = &parsed {
        // Emitted only beside errors, so they are not followed by "not a component" ones.
        item2.extend(expand::fallback_component(item));
    }
    let result = parsed
        .and_then(|item| validate::handlers(args, item))
        .map(|model| expand::handlers(&model));
    finish("handlers", item2, result)
}

/// The expansion, or the user's item untouched plus the errors.
fn finish(which: &str, item: TokenStream2, result: syn::Result<TokenStream2>) -> TokenStream {
    let tokens = match result {
        Ok(tokens) => tokens,
        Err(errors) => {
            let mut tokens = item;
            errors.to_compile_error().to_tokens(&mut tokens);
            tokens
        }
    };
    if std::env::var("RATCHET_MACRO_DEBUG").is_ok_and(|v| !v.is_empty() && v != "0") {
        let pretty = syn::parse2::<syn::File>(tokens.clone())
            .map(|file| prettyplease::unparse(&file))
            .unwrap_or_else(|_| tokens.to_string());
        eprintln!("// ---- #[ratchet::{which}] expands to:\n{pretty}");
    }
    tokens.into()
}
