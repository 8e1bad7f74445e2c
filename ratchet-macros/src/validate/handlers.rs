//! `#[ratchet::handlers]`: which methods are handlers, and their signatures.

use super::{list, suggest, Errors};
use proc_macro2::TokenStream;
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, ReturnType, Type};

/// The handlers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HandlerKind {
    Request,
    Open,
    Message,
    Close,
    Error,
    Timer,
    Start,
}

impl HandlerKind {
    pub const ALL: [HandlerKind; 7] = [
        HandlerKind::Request,
        HandlerKind::Open,
        HandlerKind::Message,
        HandlerKind::Close,
        HandlerKind::Error,
        HandlerKind::Timer,
        HandlerKind::Start,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HandlerKind::Request => "on_request",
            HandlerKind::Open => "on_open",
            HandlerKind::Message => "on_message",
            HandlerKind::Close => "on_close",
            HandlerKind::Error => "on_error",
            HandlerKind::Timer => "on_timer",
            HandlerKind::Start => "on_start",
        }
    }

    fn signature(self) -> &'static str {
        match self {
            HandlerKind::Request => "fn on_request(&mut self, conn: &Conn) -> Result<(), Refuse>",
            HandlerKind::Open => "fn on_open(&mut self, conn: &Conn)",
            HandlerKind::Message => "fn on_message(&mut self, from: &Conn, msg: &str)",
            HandlerKind::Close => "fn on_close(&mut self, conn: &Conn)",
            HandlerKind::Error => "fn on_error(&mut self, conn: &Conn, err: Error)",
            HandlerKind::Timer => "fn on_timer(&mut self, key: u64)",
            HandlerKind::Start => "fn on_start(&mut self, handle: &Handle)",
        }
    }

    /// Whether the handler is about one connection, and so may take its state.
    fn has_conn(self) -> bool {
        !matches!(self, HandlerKind::Timer | HandlerKind::Start)
    }
}

/// A type written as a path, seen through one `&` or `&mut`: whether it is behind a
/// reference (and a mutable one), and the last segment of its path.
struct Shape {
    reference: Option<Option<syn::token::Mut>>,
    name: Option<String>,
}

/// A type as the user wrote it, for messages: `&String`, `std::string::String`.
fn shown(ty: &Type) -> String {
    quote::quote!(#ty)
        .to_string()
        .replace("& ", "&")
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
}

fn shape(ty: &Type) -> Shape {
    let (reference, inner) = match ty {
        Type::Reference(r) => (Some(r.mutability), &*r.elem),
        other => (None, other),
    };
    let name = match inner {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    Shape { reference, name }
}

/// The handlers' fixed argument types, checked where they are written, so that a wrong
/// one is reported on the user's type with what it should be (and not as a type mismatch
/// on the attribute). Type names are checked as written: `Conn`, `u64`, `Error`, `Handle`,
/// with or without their path.
fn check_argument_types(kind: HandlerKind, args: &[&syn::PatType], errors: &mut Errors) {
    let conn = |ty: &Type, errors: &mut Errors| {
        let shape = shape(ty);
        match (shape.reference, shape.name.as_deref()) {
            (None, _) => errors.on(ty, "take the connection by reference: `&Conn`"),
            (Some(Some(token)), _) => errors.at(
                token,
                "take the connection as `&Conn`: a handler returns commands rather than change it",
            ),
            (Some(None), Some("Conn")) => {}
            (Some(None), _) => errors.on(
                ty,
                format!("the connection is a `&Conn`, not `{}`", shown(ty)),
            ),
        }
    };
    match kind {
        HandlerKind::Request | HandlerKind::Open | HandlerKind::Close | HandlerKind::Message => {
            conn(&args[0].ty, errors)
        }
        HandlerKind::Error => {
            conn(&args[0].ty, errors);
            let shape = shape(&args[1].ty);
            if shape.name.as_deref() != Some("Error") || matches!(shape.reference, Some(Some(_))) {
                let ty = &args[1].ty;
                errors.on(
                    ty,
                    format!(
                        "the error is a `ratchet::Error` (or `&Error`), not `{}`",
                        shown(ty)
                    ),
                );
            }
        }
        HandlerKind::Timer => {
            let ty = &args[0].ty;
            let shape = shape(ty);
            if shape.reference.is_some() || shape.name.as_deref() != Some("u64") {
                errors.on(ty, format!("a timer's key is a `u64`, not `{}`", shown(ty)));
            }
        }
        HandlerKind::Start => {
            let ty = &args[0].ty;
            let shape = shape(ty);
            if shape.name.as_deref() != Some("Handle") || matches!(shape.reference, Some(Some(_))) {
                errors.on(
                    ty,
                    format!(
                        "the handle is a `&Handle` (or `Handle`, to keep), not `{}`",
                        shown(ty)
                    ),
                );
            }
        }
    }
}

/// One handler method, validated.
pub struct Handler {
    pub kind: HandlerKind,
    pub ident: syn::Ident,
    /// The message type (`on_message`), error type (`on_error`) or handle type
    /// (`on_start`).
    pub arg: Option<Type>,
    /// The declared return type; `None` for `()`.
    pub output: Option<Type>,
    /// The connection's state, if the handler takes it (after the connection).
    pub state: Option<State>,
}

/// A handler's connection-state argument: `me: &mut Player` (or, in `on_close`, `me:
/// Player` to keep it).
pub struct State {
    /// The state type, without the reference.
    pub ty: Type,
    /// Taken as `&mut T` (else by value).
    pub by_ref: bool,
}

/// `#[ratchet::handlers]`, validated.
pub struct HandlersModel {
    pub item: ItemImpl,
    pub handlers: Vec<Handler>,
    /// The connection state every handler that takes one agrees on.
    pub state: Option<Type>,
}

pub fn handlers(args: TokenStream, item: ItemImpl) -> syn::Result<HandlersModel> {
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.at(&args, "#[ratchet::handlers] takes no arguments; protocol and address go on #[ratchet::app(...)]");
    }
    if let Some((_, path, _)) = &item.trait_ {
        errors.at(
            path,
            "#[ratchet::handlers] goes on an inherent impl (`impl Chat { ... }`), not a trait impl",
        );
    }
    if !item.generics.params.is_empty() {
        errors.at(
            &item.generics,
            "#[ratchet::handlers] does not support generic impls; implement `ratchet::Component` by hand",
        );
    }
    let names: Vec<&str> = HandlerKind::ALL.iter().map(|k| k.name()).collect();
    let mut handlers: Vec<Handler> = Vec::new();
    for impl_item in &item.items {
        let ImplItem::Fn(f) = impl_item else { continue };
        let name = f.sig.ident.to_string();
        let Some(kind) = HandlerKind::ALL.into_iter().find(|k| k.name() == name) else {
            let close = suggest(&name, &names);
            if name.starts_with("on_") || close.is_some() {
                let hint = close
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                errors.at(
                    &f.sig.ident,
                    format!(
                        "unknown handler `{name}`; {hint}handlers are {}",
                        list(&names)
                    ),
                );
            }
            continue;
        };
        if let Some(handler) = handler(kind, f, &mut errors) {
            handlers.push(handler);
        }
    }
    let state = agreed_state(&handlers, &mut errors);
    errors.finish(HandlersModel {
        item,
        handlers,
        state,
    })
}

/// The state type the handlers take; an error on each that names another.
fn agreed_state(handlers: &[Handler], errors: &mut Errors) -> Option<Type> {
    let mut first: Option<(&Type, &str)> = None;
    for handler in handlers {
        let Some(state) = &handler.state else {
            continue;
        };
        match first {
            None => first = Some((&state.ty, handler.kind.name())),
            Some((ty, name)) if shown(ty) != shown(&state.ty) => errors.on(
                &state.ty,
                format!(
                    "a connection has one state: `{name}` takes `&mut {}`, so this must be `{}` too",
                    shown(ty),
                    shown(ty)
                ),
            ),
            Some(_) => {}
        }
    }
    first.map(|(ty, _)| ty.clone())
}

/// Takes the connection-state argument out of `rest` (the arguments after `self`): the
/// one right after the connection, if it is a `&mut` reference to something other than
/// a `Conn` (or, in `on_close`, any extra argument).
fn take_state(
    kind: HandlerKind,
    rest: &mut Vec<&syn::PatType>,
    errors: &mut Errors,
) -> Option<State> {
    if !kind.has_conn() || rest.len() < 2 {
        return None;
    }
    let candidate = rest[1];
    let extra = kind == HandlerKind::Close;
    let state = match &*candidate.ty {
        Type::Reference(r)
            if r.mutability.is_some() && shape(&r.elem).name.as_deref() != Some("Conn") =>
        {
            State {
                ty: (*r.elem).clone(),
                by_ref: true,
            }
        }
        Type::Reference(r) if extra && r.mutability.is_none() => {
            errors.on(
                &candidate.ty,
                "take the connection's state as `&mut T` (or by value in `on_close`, to keep it)",
            );
            rest.remove(1);
            return None;
        }
        ty if extra => State {
            ty: ty.clone(),
            by_ref: false,
        },
        _ => return None,
    };
    rest.remove(1);
    Some(state)
}

fn handler(kind: HandlerKind, f: &ImplItemFn, errors: &mut Errors) -> Option<Handler> {
    let sig = &f.sig;
    let name = kind.name();
    let errors_before = errors.1;
    if let Some(token) = &sig.asyncness {
        errors.at(
            token,
            format!("`{name}` cannot be async: handlers run on the event loop and return commands; remove `async`"),
        );
    }
    if let Some(token) = &sig.unsafety {
        errors.at(token, format!("`{name}` cannot be `unsafe`"));
    }
    if !sig.generics.params.is_empty() {
        errors.at(
            &sig.generics,
            format!("`{name}` cannot have generic parameters"),
        );
    }
    let mut inputs = sig.inputs.iter().peekable();
    match inputs.next_if(|arg| matches!(arg, FnArg::Receiver(_))) {
        // `self: Box<Self>`, `self: &mut Self`: a receiver written with its type.
        Some(FnArg::Receiver(r)) if r.colon_token.is_some() => {
            errors.on(r, format!("`{name}` must take `&mut self` or `&self`"))
        }
        Some(FnArg::Receiver(r)) if r.reference.is_none() => errors.at(
            r,
            format!(
                "`{name}` takes `self` by value, which would consume the app; take `&mut self`"
            ),
        ),
        Some(FnArg::Receiver(_)) => {}
        _ => errors.at(
            &sig.ident,
            format!(
                "`{name}` is a handler and must take `&mut self` first: `{}`",
                kind.signature()
            ),
        ),
    }
    let mut rest: Vec<&syn::PatType> = inputs
        .filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let state = take_state(kind, &mut rest, errors);
    let wanted = match kind {
        HandlerKind::Request
        | HandlerKind::Open
        | HandlerKind::Close
        | HandlerKind::Timer
        | HandlerKind::Start => 1,
        HandlerKind::Message | HandlerKind::Error => 2,
    };
    if rest.len() != wanted {
        let span = sig.paren_token.span.join();
        let s = if wanted == 1 { "" } else { "s" };
        errors.at(
            span,
            format!(
                "`{name}` takes {wanted} argument{s} after `self`, found {}: `{}`",
                rest.len(),
                kind.signature()
            ),
        );
    } else {
        check_argument_types(kind, &rest, errors);
    }
    if errors.1 > errors_before {
        return None;
    }
    let output = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    let arg = match kind {
        HandlerKind::Start => rest.first(),
        _ => rest.get(1),
    };
    Some(Handler {
        kind,
        ident: sig.ident.clone(),
        arg: arg.map(|t| (*t.ty).clone()),
        output,
        state,
    })
}
