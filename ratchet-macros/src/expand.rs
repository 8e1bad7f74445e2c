//! Expansion: the model into code. Calls into `ratchet::app` for everything that is not
//! specific to this struct, so the generated code stays small.

use crate::validate::{AppModel, Handler, HandlerKind, HandlersModel, ProtocolChoice};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Type;

pub fn app(model: &AppModel) -> TokenStream {
    let item = &model.item;
    if !item.generics.params.is_empty() {
        // Only with `main = false` (validation refuses the rest): the user serves it.
        return quote!(#item);
    }
    let ident = &item.ident;
    let name = ident.to_string();
    let (bind, scheme) = (&model.binds[0], model.protocols[0].scheme);
    // Spanned on the struct's name, so a missing `Default` or handler impl is reported there.
    let (ty, into_protocol, into_server) = match model.protocols.as_slice() {
        [one] => {
            let (ty, wrap) = stack(
                model,
                one,
                quote!(#ident),
                quote_spanned!(ident.span()=> self),
            );
            (ty, wrap, None)
        }
        [first, second] => {
            let app_ty = quote_spanned!(ident.span()=> ::ratchet::Shared<#ident>);
            let shared = quote_spanned!(ident.span()=> ::ratchet::Shared::new(self));
            let (ty1, wrap1) = stack(model, first, app_ty.clone(), quote!(app.clone()));
            let (ty2, wrap2) = stack(model, second, app_ty, quote!(app));
            let ty = quote!(::ratchet::Listeners<#ty1, #ty2>);
            let into_protocol = quote!({
                let app = #shared;
                ::ratchet::Listeners::new(#wrap1, #wrap2)
            });
            let into_server = quote! {
                fn into_server(self, more: &[::std::string::String]) -> ::std::io::Result<::ratchet::Server<Self::Protocol>> {
                    let app = #shared;
                    ::ratchet::Server::new(#wrap1).listen(more[0].as_str(), #wrap2)
                }
            };
            (ty, into_protocol, Some(into_server))
        }
        _ => unreachable!("validation allows one or two protocols"),
    };
    let more = model.protocols[1..]
        .iter()
        .zip(&model.binds[1..])
        .map(|(p, bind)| {
            let (name, scheme) = (p.name, p.scheme);
            quote!((#name, #bind, #scheme))
        });
    let path = model.path.as_deref().unwrap_or("/");
    let page = model.static_dir.is_some();
    let tls = match &model.tls {
        Some((cert, key)) => quote!(::core::option::Option::Some((#cert, #key))),
        None => quote!(::core::option::Option::None),
    };
    let outbound_tls = model.outbound_tls;
    let redis = match &model.redis {
        Some(url) => quote!(::core::option::Option::Some(#url)),
        None => quote!(::core::option::Option::None),
    };
    let workers = model.workers.unwrap_or(1);
    let reuse_port = model.reuse_port;
    let history = model.history.iter().map(|rule| {
        let (pattern, len, ttl_ms) = (&rule.pattern, rule.len, rule.ttl_ms);
        quote!((#pattern, #len, #ttl_ms))
    });
    let main = model.main.then(|| {
        let run = quote_spanned!(ident.span()=> ::ratchet::app::main::<#ident>());
        quote! {
            fn main() -> ::std::process::ExitCode {
                #run
            }
        }
    });
    // The handlers must take the state named here: a mismatch is reported on its name.
    let conn_state = model.conn_state.as_ref().map(|ty| {
        let check = quote_spanned!(ty.span()=> |state| state);
        quote! {
            const _: fn(<#ident as ::ratchet::StatefulComponent>::State) -> #ty = #check;
        }
    });
    quote! {
        #item

        #conn_state

        impl ::ratchet::app::App for #ident {
            type Protocol = #ty;
            const NAME: &'static str = #name;
            const DEFAULT_BIND: &'static str = #bind;
            const SCHEME: &'static str = #scheme;
            const PATH: &'static str = #path;
            const PAGE: bool = #page;
            const REDIS: ::core::option::Option<&'static str> = #redis;
            const HISTORY: &'static [(&'static str, usize, u64)] = &[#(#history),*];
            const WORKERS: usize = #workers;
            const REUSE_PORT: bool = #reuse_port;
            const MORE: &'static [(&'static str, &'static str, &'static str)] = &[#(#more),*];
            const TLS: ::core::option::Option<(&'static str, &'static str)> = #tls;
            const OUTBOUND_TLS: bool = #outbound_tls;

            fn into_protocol(self) -> Self::Protocol {
                #into_protocol
            }

            #into_server
        }

        #main
    }
}

/// One protocol's decorator stack around `app` (of type `app_ty`): its type, and the
/// expression that builds it.
fn stack(
    model: &AppModel,
    protocol: &ProtocolChoice,
    app_ty: TokenStream,
    app: TokenStream,
) -> (TokenStream, TokenStream) {
    let decorator = format_ident!("{}", protocol.decorator);
    let span = model.item.ident.span();
    let (mut ty, mut wrap) = (
        quote_spanned!(span=> ::ratchet::#decorator<#app_ty>),
        quote_spanned!(span=> ::ratchet::#decorator::new(#app)),
    );
    let rate = model.rate.as_ref().map(|r| {
        let count = r.count;
        let mut rate = match r.per_minute {
            true => quote!(::ratchet::Rate::per_minute(#count)),
            false => quote!(::ratchet::Rate::per_second(#count)),
        };
        if r.close {
            rate = quote!(#rate.over(::ratchet::OverRate::Close));
        }
        rate
    });
    if !protocol.http {
        if let Some(rate) = &rate {
            wrap = quote_spanned!(span=> ::ratchet::#decorator::with_config(#app, ::ratchet::line::Config::default().rate(#rate)));
        }
    }
    if protocol.http {
        if model.deflate || !model.subprotocols.is_empty() || rate.is_some() {
            let mut config = quote!(::ratchet::websocket::Config::default());
            if let Some(rate) = &rate {
                config = quote!(#config.rate(#rate));
            }
            if model.deflate {
                config = quote!(#config.deflate(::ratchet::websocket::Deflate::default()));
            }
            if !model.subprotocols.is_empty() {
                let names = &model.subprotocols;
                config = quote!(#config.subprotocols([#(#names),*]));
            }
            wrap = quote_spanned!(span=> ::ratchet::#decorator::with_config(#app, #config));
        }
        if let (Some(format), Some(url)) = (model.session, &model.redis) {
            let format = format_ident!("{}", format);
            ty = quote!(::ratchet::session::Session<#ty>);
            wrap = quote!(::ratchet::session::Session::new(#wrap, ::ratchet::app::redis_url(#url))
                .format(::ratchet::session::Format::#format));
        }
        if !model.origins.is_empty() {
            let origins = &model.origins;
            ty = quote!(::ratchet::OriginCheck<#ty>);
            wrap = quote!(::ratchet::OriginCheck::new(#wrap, [#(#origins),*]));
        }
        if let Some(path) = &model.path {
            let route = quote!(::ratchet::http::Route<#ty, ::ratchet::http::NoRoute>);
            wrap = quote!(::ratchet::Router::new().route(#path, #wrap));
            let route = match &model.metrics {
                Some(at) => {
                    wrap = quote!(#wrap.route(#at, ::ratchet::metrics::Metrics::new()));
                    quote!(::ratchet::http::Route<::ratchet::metrics::Metrics, #route>)
                }
                None => route,
            };
            ty = match &model.static_dir {
                Some(dir) => {
                    wrap = quote!(#wrap.route("/*", ::ratchet::Static::new(::ratchet::app::static_dir(#dir))));
                    quote!(::ratchet::Router<::ratchet::http::Route<::ratchet::Static, #route>>)
                }
                None => quote!(::ratchet::Router<#route>),
            };
        }
    }
    if !model.blacklist.is_empty() {
        let blocked = &model.blacklist;
        ty = quote!(::ratchet::IpBlacklist<#ty>);
        wrap = quote!(::ratchet::IpBlacklist::with(
            #wrap,
            [#(#blocked.parse::<::std::net::IpAddr>().expect("checked at compile time")),*],
        ));
    }
    (ty, wrap)
}

pub fn handlers(model: &HandlersModel) -> TokenStream {
    let item = &model.item;
    let self_ty = &item.self_ty;
    let find = |kind| model.handlers.iter().find(|h: &&Handler| h.kind == kind);
    let shape = Shape {
        self_ty,
        state: model.state.as_ref(),
    };
    let methods = HandlerKind::ALL
        .into_iter()
        .filter_map(|kind| shape.method(kind, find(kind)));
    let (component, state) = match &model.state {
        Some(ty) => (
            quote!(::ratchet::StatefulComponent),
            Some(quote!(type State = #ty;)),
        ),
        None => (quote!(::ratchet::Component), None),
    };
    quote! {
        #item

        impl #component for #self_ty {
            #state
            #(#methods)*
        }
    }
}

/// A component impl that handles nothing, emitted beside errors in an `impl` block so
/// the user sees those errors rather than a cascade about the missing impl.
pub fn fallback_component(item: &syn::ItemImpl) -> Option<TokenStream> {
    if !item.generics.params.is_empty() {
        return None;
    }
    let self_ty = &item.self_ty;
    Some(quote! {
        impl ::ratchet::Component for #self_ty {
            fn on_message(&mut self, _: &::ratchet::Conn, _: ::ratchet::Message<'_>) -> impl ::ratchet::IntoCommands {}
        }
    })
}

/// The span type errors about a handler's return value should land on.
fn output_span(handler: &Handler) -> Span {
    handler
        .output
        .as_ref()
        .map_or_else(|| handler.ident.span(), Spanned::span)
}

/// What the generated methods look like: which trait, and the state they pass on.
struct Shape<'a> {
    self_ty: &'a Type,
    state: Option<&'a Type>,
}

impl Shape<'_> {
    /// `state: &mut T, ` in a stateful component's signature.
    fn state_param(&self) -> TokenStream {
        match self.state {
            Some(ty) => quote!(state: &mut #ty,),
            None => TokenStream::new(),
        }
    }

    /// The state as the user's handler takes it (nothing if it does not).
    fn state_arg(&self, handler: &Handler) -> TokenStream {
        match &handler.state {
            Some(_) => quote!(state,),
            None => TokenStream::new(),
        }
    }

    /// Hands `err` to the component's `on_error`.
    fn on_error(&self, err: TokenStream) -> TokenStream {
        let self_ty = self.self_ty;
        match self.state {
            Some(_) => quote!(::ratchet::IntoCommands::into_commands(
                <#self_ty as ::ratchet::StatefulComponent>::on_error(self, conn, state, #err)
            )),
            None => quote!(::ratchet::IntoCommands::into_commands(
                <#self_ty as ::ratchet::Component>::on_error(self, conn, #err)
            )),
        }
    }

    /// The handler's output as commands; an error goes to `on_error`.
    fn finish(&self, handler: &Handler) -> TokenStream {
        let outcome =
            quote_spanned!(output_span(handler)=> ::ratchet::app::HandlerOutput::into_outcome(out));
        let on_error = self.on_error(quote!(err));
        quote! {
            match #outcome {
                ::core::result::Result::Ok(cmds) => cmds,
                ::core::result::Result::Err(err) => #on_error,
            }
        }
    }

    fn method(&self, kind: HandlerKind, handler: Option<&Handler>) -> Option<TokenStream> {
        let self_ty = self.self_ty;
        let conn = quote!(&::ratchet::Conn);
        let commands = quote!(impl ::ratchet::IntoCommands);
        let state = self.state_param();
        let Some(handler) = handler else {
            return match kind {
                HandlerKind::Message => Some(quote! {
                    fn on_message(&mut self, _from: #conn, #state _msg: ::ratchet::Message<'_>) -> #commands {
                        ::ratchet::Commands::none()
                    }
                }),
                HandlerKind::Error => Some(quote! {
                    fn on_error(&mut self, conn: #conn, #state err: ::ratchet::Error) -> #commands {
                        ::ratchet::app::unhandled_error(conn, err)
                    }
                }),
                _ => None,
            };
        };
        let ident = &handler.ident;
        let pass = self.state_arg(handler);
        let finish = self.finish(handler);
        Some(match kind {
            HandlerKind::Request => {
                let door =
                    quote_spanned!(output_span(handler)=> ::ratchet::app::IntoDoor::into_door(out));
                quote! {
                    fn on_request(&mut self, conn: #conn, #state) -> ::ratchet::Door {
                        let out = <#self_ty>::#ident(self, conn, #pass);
                        #door
                    }
                }
            }
            HandlerKind::Open => quote! {
                fn on_open(&mut self, conn: #conn, #state) -> #commands {
                    let out = <#self_ty>::#ident(self, conn, #pass);
                    #finish
                }
            },
            HandlerKind::Close => match (self.state, &handler.state) {
                // The state is gone with the connection: an error is logged.
                (Some(ty), mine) => {
                    let (bind, pass) = match mine {
                        Some(s) if s.by_ref => (quote!(mut state: #ty), quote!(&mut state,)),
                        Some(_) => (quote!(state: #ty), quote!(state,)),
                        None => (quote!(_state: #ty), TokenStream::new()),
                    };
                    let finish = quote_spanned!(output_span(handler)=> ::ratchet::app::finish_logged("on_close", out));
                    quote! {
                        fn on_close(&mut self, conn: #conn, #bind) -> #commands {
                            let out = <#self_ty>::#ident(self, conn, #pass);
                            #finish
                        }
                    }
                }
                (None, _) => quote! {
                    fn on_close(&mut self, conn: #conn) -> #commands {
                        let out = <#self_ty>::#ident(self, conn);
                        #finish
                    }
                },
            },
            HandlerKind::Message => {
                let ty = handler.arg.as_ref()?;
                let convert = quote_spanned!(ty.span()=> <#ty as ::ratchet::app::FromMessage>::from_message(msg));
                let on_bad = self.on_error(quote!(err));
                quote! {
                    fn on_message(&mut self, conn: #conn, #state msg: ::ratchet::Message<'_>) -> #commands {
                        let msg = match #convert {
                            ::core::result::Result::Ok(msg) => msg,
                            ::core::result::Result::Err(unfit) => {
                                return match ::ratchet::app::unfit(conn, unfit) {
                                    ::core::result::Result::Ok(cmds) => cmds,
                                    ::core::result::Result::Err(err) => #on_bad,
                                };
                            }
                        };
                        let out = <#self_ty>::#ident(self, conn, #pass msg);
                        #finish
                    }
                }
            }
            HandlerKind::Error => {
                let err = match handler.arg.as_ref()? {
                    Type::Reference(_) => quote!(&err),
                    _ => quote!(err),
                };
                let finish = quote_spanned!(output_span(handler)=> ::ratchet::app::finish_logged("on_error", out));
                quote! {
                    fn on_error(&mut self, conn: #conn, #state err: ::ratchet::Error) -> #commands {
                        let out = <#self_ty>::#ident(self, conn, #pass #err);
                        #finish
                    }
                }
            }
            HandlerKind::Timer => {
                let finish = quote_spanned!(output_span(handler)=> ::ratchet::app::finish_logged("on_timer", out));
                quote! {
                    fn on_timer(&mut self, key: u64) -> #commands {
                        let out = <#self_ty>::#ident(self, key);
                        #finish
                    }
                }
            }
            HandlerKind::Start => {
                let handle = match handler.arg.as_ref()? {
                    Type::Reference(_) => quote!(handle),
                    _ => quote!(::core::clone::Clone::clone(handle)),
                };
                let finish = quote_spanned!(output_span(handler)=> ::ratchet::app::finish_logged("on_start", out));
                quote! {
                    fn on_start(&mut self, handle: &::ratchet::Handle) -> #commands {
                        let out = <#self_ty>::#ident(self, #handle);
                        #finish
                    }
                }
            }
        })
    }
}
