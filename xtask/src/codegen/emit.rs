//! Turns the model into Rust tokens.

use super::entities::{Entity, entity_ident, entity_tokens};
use super::model::{Body, Enum, Model, Op, Shape, Struct, Ty};
use anyhow::{Result, bail};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use std::fmt::Write as _;

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

fn ty_tokens(ty: &Ty) -> TokenStream {
    match ty {
        Ty::String => quote!(String),
        Ty::Bool => quote!(bool),
        Ty::I32 => quote!(i32),
        Ty::I64 => quote!(i64),
        Ty::U32 => quote!(u32),
        Ty::Value => quote!(serde_json::Value),
        Ty::Bytes => quote!(Vec<u8>),
        Ty::Vec(inner) => {
            let inner = ty_tokens(inner);
            quote!(Vec<#inner>)
        }
        Ty::StringMap(inner) => {
            let inner = ty_tokens(inner);
            quote!(std::collections::BTreeMap<String, #inner>)
        }
        Ty::Named(name) => {
            let name = ident(name);
            quote!(#name)
        }
        Ty::Boxed(inner) => {
            let inner = ty_tokens(inner);
            quote!(Box<#inner>)
        }
    }
}

/// Doc lines for an item: each paragraph of `text` becomes its own doc attribute.
fn doc(text: &str) -> TokenStream {
    let lines = text.lines().map(|l| format!(" {}", l.trim_end()));
    quote!(#(#[doc = #lines])*)
}

pub(crate) fn file(model: &Model, entities: &[Entity]) -> Result<TokenStream> {
    let enums = model.enums.iter().map(enum_tokens);
    let enum_names: Vec<&str> = model.enums.iter().map(|e| e.name.as_str()).collect();
    let structs = model.structs.iter().map(|s| struct_tokens(s, &enum_names));
    let ops = model
        .ops
        .iter()
        .map(op_tokens)
        .collect::<Result<Vec<_>>>()?;
    let routes = model
        .ops
        .iter()
        .map(route_tokens)
        .collect::<Result<Vec<_>>>()?;
    let all = model
        .ops
        .iter()
        .map(|o| format_ident!("{}", route_ident(o)));
    let dispatch = request_enum_tokens(&model.ops);
    let entity_items = entities.iter().map(entity_tokens);
    let beta_items = entities
        .iter()
        .filter_map(|e| e.beta.as_deref())
        .map(entity_tokens);
    let all_entities = entities
        .iter()
        .map(|e| format_ident!("{}", entity_ident(&e.wire)))
        .collect::<Vec<_>>();
    Ok(quote! {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};
        use crate::ids::{AppInstallationId, ChatId, TeamId, TeamsAppDefinitionId, TeamsAppId, UserId};
        use crate::operation::{DecodeError, Operation, RequestBody, Route};

        #(#enums)*
        #(#structs)*
        #(#ops)*
        #dispatch

        /// The route of every operation in the fragment: method, path template, documented status.
        ///
        /// Written once here; the client renders these templates and the emulator routes on them.
        pub mod routes {
            use crate::RequestKind;
            use crate::cloud::NationalCloud;
            use crate::ids::IdKind;
            use crate::operation::{OperationClass, Paging, ResponseShape, Route};
            use crate::permissions::OperationPermissions;
            use http::{Method, StatusCode};

            #(#routes)*

            /// Every route, in the fragment's order.
            pub static ALL: &[&Route] = &[#(&#all),*];
        }

        /// The entity types of the fragment (schemas with `x-teamsapp-projection`): what
        /// `$select`, `$expand` and `$filter` may name, and what each returns by default.
        pub mod entities {
            use crate::entity::{ApiVersion, Entity, Property, PropertyKind};

            #(#entity_items)*

            /// Every entity type, in the fragment's order.
            pub static ALL: &[&Entity] = &[#(&#all_entities),*];

            /// The entity types as `/beta` shapes them: each schema with its `x-teamsapp-beta`
            /// applied, under the same names as their `/v1.0` tables.
            pub mod beta {
                use crate::entity::{ApiVersion, Entity, Property, PropertyKind};

                #(#beta_items)*

                /// Every entity type, in the fragment's order.
                pub static ALL: &[&Entity] = &[#(&#all_entities),*];
            }
        }
    })
}

fn enum_tokens(e: &Enum) -> TokenStream {
    let name = ident(&e.name);
    let docs = doc(&format!(
        "{}\n\nWire schema `{}`. Parsing ignores ASCII case; unknown values are kept in [`{}::Unknown`].",
        e.doc, e.wire, e.name
    ));
    let variants: Vec<Ident> = e
        .members
        .iter()
        .map(|m| format_ident!("{}", super::model::pascal(m)))
        .collect();
    let wires = &e.members;
    let variant_docs = wires.iter().map(|w| format!(" `{w}`"));
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #name {
            #(#[doc = #variant_docs] #variants,)*
            /// A value this version of the fragment does not know, kept exactly as sent.
            Unknown(String),
        }

        impl #name {
            /// The value on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #(Self::#variants => #wires,)*
                    Self::Unknown(value) => value,
                }
            }

            /// Parses a wire value, ignoring ASCII case; never fails.
            pub fn from_wire(value: &str) -> Self {
                #(if value.eq_ignore_ascii_case(#wires) { return Self::#variants; })*
                Self::Unknown(value.to_owned())
            }
        }

        impl std::fmt::Display for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for #name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_wire(value))
            }
        }

        impl Serialize for #name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for #name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                Ok(Self::from_wire(&value))
            }
        }
    }
}

fn struct_tokens(s: &Struct, enums: &[&str]) -> TokenStream {
    let name = ident(&s.name);
    let docs = doc(&format!("{}\n\nWire schema `{}`.", s.doc, s.wire));
    let needs_no_default = s
        .fields
        .iter()
        .any(|f| f.required && matches!(&f.ty, Ty::Named(n) if enums.contains(&n.as_str())));
    let default = if needs_no_default {
        quote!()
    } else {
        quote!(Default,)
    };
    let fields = s.fields.iter().map(|f| {
        let rust = ident(&f.rust);
        let wire = &f.wire;
        let ty = ty_tokens(&f.ty);
        let fdoc = doc(&f.doc);
        if f.required {
            quote! {
                #fdoc
                #[serde(rename = #wire)]
                pub #rust: #ty,
            }
        } else {
            quote! {
                #fdoc
                #[serde(rename = #wire, default, skip_serializing_if = "Option::is_none")]
                pub #rust: Option<#ty>,
            }
        }
    });
    quote! {
        #docs
        #[derive(Debug, Clone, #default PartialEq, Serialize, Deserialize)]
        pub struct #name {
            #(#fields)*
            /// Properties the fragment does not describe (`@odata.context`, `@odata.type`, newer
            /// Graph properties), kept as they came so nothing is lost on a round trip.
            #[serde(flatten)]
            pub additional_properties: serde_json::Map<String, serde_json::Value>,
        }
    }
}

fn route_ident(op: &Op) -> String {
    super::model::snake(&op.request).to_uppercase()
}

fn status_tokens(code: u16) -> Result<TokenStream> {
    Ok(match code {
        200 => quote!(StatusCode::OK),
        201 => quote!(StatusCode::CREATED),
        202 => quote!(StatusCode::ACCEPTED),
        204 => quote!(StatusCode::NO_CONTENT),
        other => bail!("add status {other} to status_tokens"),
    })
}

fn route_tokens(op: &Op) -> Result<TokenStream> {
    let name = format_ident!("{}", route_ident(op));
    let operation_id = &op.operation_id;
    let request = &op.request;
    let method = format_ident!("{}", op.method);
    let template = &op.template;
    let aliases = &op.aliases;
    let params = op.path_params.iter().map(|p| &p.wire);
    let kinds = op
        .path_params
        .iter()
        .map(|p| format_ident!("{}", p.id_kind));
    let kind = ident(&op.request);
    let action = op
        .action
        .as_ref()
        .map_or_else(|| quote!(None), |name| quote!(Some(#name)));
    let idempotent = op.idempotent;
    let action_parameters = &op.action_parameters;
    let query = op.query.iter().map(|q| &q.wire);
    let (content_type, optional) = match &op.body {
        Body::None => (quote!(None), true),
        Body::Json { required, .. } => (quote!(Some("application/json")), !required),
        Body::Zip { .. } => (quote!(Some("application/zip")), false),
    };
    let success = status_tokens(op.success)?;
    let accepted = op
        .accepted
        .iter()
        .map(|c| status_tokens(*c))
        .collect::<Result<Vec<_>>>()?;
    let shape = match op.shape {
        Shape::Empty => quote!(ResponseShape::Empty),
        Shape::Json => quote!(ResponseShape::Json),
        Shape::MaybeJson => quote!(ResponseShape::MaybeJson),
        Shape::Text => quote!(ResponseShape::Text),
    };
    let class = match (op.method.as_str(), op.operation_id.as_str()) {
        (_, "batch") => quote!(OperationClass::Batch),
        ("GET", _) => quote!(OperationClass::Read),
        ("POST" | "PUT", _) => quote!(OperationClass::Write),
        ("PATCH", _) => quote!(OperationClass::Patch),
        ("DELETE", _) => quote!(OperationClass::Delete),
        (other, _) => bail!("no throttling class for {other}"),
    };
    let summary = &op.summary;
    let docs = doc(&format!("`{} {}`: {}.", op.method, op.template, op.summary));
    let delegated = &op.permissions.delegated;
    let application = &op.permissions.application;
    let requires_permission = op.permissions.required;
    let clouds = op.clouds.iter().map(|c| format_ident!("{}", c));
    let paging = op.paging.as_ref().map_or_else(
        || quote!(None),
        |p| {
            let next_link = &p.next_link;
            let max_top = p.max_top;
            quote!(Some(Paging { next_link: #next_link, max_top: #max_top }))
        },
    );
    Ok(quote! {
        #docs
        pub static #name: Route = Route {
            operation_id: #operation_id,
            request_type: #request,
            kind: RequestKind::#kind,
            method: Method::#method,
            template: #template,
            aliases: &[#(#aliases),*],
            path_params: &[#(#params),*],
            path_param_kinds: &[#(IdKind::#kinds),*],
            query_options: &[#(#query),*],
            request_content_type: #content_type,
            request_body_optional: #optional,
            success: #success,
            accepted: &[#(#accepted),*],
            response: #shape,
            class: #class,
            action: #action,
            action_parameters: &[#(#action_parameters),*],
            idempotent: #idempotent,
            permissions: OperationPermissions {
                operation_id: #operation_id,
                delegated: &[#(#delegated),*],
                application: &[#(#application),*],
                personal_account_supported: false,
                requires_permission: #requires_permission,
            },
            clouds: &[#(NationalCloud::#clouds),*],
            paging: #paging,
            summary: #summary,
        };
    })
}

fn op_tokens(op: &Op) -> Result<TokenStream> {
    let name = ident(&op.request);
    let route = format_ident!("{}", route_ident(op));
    let status = http_reason(op.success);
    let mut text = format!(
        "{}\n\n`{} {}` → `{} {}` (operationId `{}`).\n\n{}",
        op.summary, op.method, op.template, op.success, status, op.operation_id, op.description
    );
    if !op.aliases.is_empty() {
        let _ = write!(
            text,
            "\n\nGraph also answers at `{}`.",
            op.aliases.join("`, `")
        );
    }
    if let Some(url) = &op.docs_url {
        let _ = write!(text, "\n\nMicrosoft's documentation: <{url}>.");
    }
    let docs = doc(&text);

    let mut fields = Vec::new();
    let mut new_args = Vec::new();
    let mut new_inits = Vec::new();
    let mut setters = Vec::new();
    for p in &op.path_params {
        let f = ident(&p.rust);
        let t = ident(&p.id_type);
        let d = doc(&format!("{} (path parameter `{}`)", p.doc, p.wire));
        fields.push(quote!(#d pub #f: #t,));
        new_args.push(quote!(#f: #t));
        new_inits.push(quote!(#f));
    }
    let mut query_pushes = Vec::new();
    for q in &op.query {
        let f = ident(&q.rust);
        let wire = &q.wire;
        let d = doc(&format!("{} (`{}`)", q.doc, q.wire));
        let sd = doc(&format!("Sets `{}`: {}", q.wire, q.doc));
        match &q.ty {
            Ty::Vec(_) => {
                fields.push(quote!(#d pub #f: Option<Vec<String>>,));
                setters.push(quote! {
                    #sd
                    #[must_use]
                    pub fn #f<I, S>(mut self, values: I) -> Self
                    where
                        I: IntoIterator<Item = S>,
                        S: Into<String>,
                    {
                        self.#f = Some(values.into_iter().map(Into::into).collect());
                        self
                    }
                });
                query_pushes
                    .push(quote!(if let Some(v) = &self.#f { query.push((#wire, v.join(","))); }));
            }
            Ty::String => {
                fields.push(quote!(#d pub #f: Option<String>,));
                setters.push(quote! {
                    #sd
                    #[must_use]
                    pub fn #f(mut self, value: impl Into<String>) -> Self {
                        self.#f = Some(value.into());
                        self
                    }
                });
                query_pushes
                    .push(quote!(if let Some(v) = &self.#f { query.push((#wire, v.clone())); }));
            }
            Ty::Bool | Ty::U32 | Ty::I64 | Ty::I32 => {
                let t = ty_tokens(&q.ty);
                fields.push(quote!(#d pub #f: Option<#t>,));
                setters.push(quote! {
                    #sd
                    #[must_use]
                    pub fn #f(mut self, value: #t) -> Self {
                        self.#f = Some(value);
                        self
                    }
                });
                query_pushes.push(
                    quote!(if let Some(v) = &self.#f { query.push((#wire, v.to_string())); }),
                );
            }
            other => bail!("unsupported query parameter type {other:?}"),
        }
        new_inits.push(quote!(#f: None));
    }
    let body_fn = match &op.body {
        Body::None => quote! {
            fn body(&self) -> Result<Option<RequestBody>, serde_json::Error> {
                Ok(None)
            }
        },
        Body::Json {
            ty,
            required: true,
            doc: bdoc,
        } => {
            let t = ident(ty);
            let d = doc(bdoc);
            fields.push(quote!(#d pub body: #t,));
            new_args.push(quote!(body: #t));
            new_inits.push(quote!(body));
            quote! {
                fn body(&self) -> Result<Option<RequestBody>, serde_json::Error> {
                    Ok(Some(RequestBody { content_type: "application/json", bytes: serde_json::to_vec(&self.body)? }))
                }
            }
        }
        Body::Json {
            ty,
            required: false,
            doc: bdoc,
        } => {
            let t = ident(ty);
            let d = doc(&format!(
                "{bdoc}\n\n`None` sends `{{}}`, as Microsoft's SDKs do."
            ));
            fields.push(quote!(#d pub body: Option<#t>,));
            new_inits.push(quote!(body: None));
            setters.push(quote! {
                /// Sets the request body.
                #[must_use]
                pub fn with_body(mut self, body: #t) -> Self {
                    self.body = Some(body);
                    self
                }
            });
            quote! {
                fn body(&self) -> Result<Option<RequestBody>, serde_json::Error> {
                    let bytes = match &self.body {
                        Some(body) => serde_json::to_vec(body)?,
                        None => b"{}".to_vec(),
                    };
                    Ok(Some(RequestBody { content_type: "application/json", bytes }))
                }
            }
        }
        Body::Zip { doc: bdoc } => {
            let d = doc(bdoc);
            fields.push(quote!(#d pub package: Vec<u8>,));
            new_args.push(quote!(package: Vec<u8>));
            new_inits.push(quote!(package));
            quote! {
                fn body(&self) -> Result<Option<RequestBody>, serde_json::Error> {
                    Ok(Some(RequestBody { content_type: "application/zip", bytes: self.package.clone() }))
                }
            }
        }
    };
    let (response, decode) = match (&op.shape, &op.response_ty) {
        (Shape::Empty, _) => (
            quote!(()),
            quote! {
                fn decode(_body: &[u8]) -> Result<Self::Response, serde_json::Error> {
                    Ok(())
                }
            },
        ),
        (Shape::Json, Some(t)) => {
            let t = ident(t);
            (
                quote!(#t),
                quote! {
                    fn decode(body: &[u8]) -> Result<Self::Response, serde_json::Error> {
                        serde_json::from_slice(body)
                    }
                },
            )
        }
        (Shape::MaybeJson, Some(t)) => {
            let t = ident(t);
            (
                quote!(Option<#t>),
                quote! {
                    fn decode(body: &[u8]) -> Result<Self::Response, serde_json::Error> {
                        if body.iter().all(u8::is_ascii_whitespace) {
                            Ok(None)
                        } else {
                            serde_json::from_slice(body).map(Some)
                        }
                    }
                },
            )
        }
        // A bare decimal integer, which is also a JSON number.
        (Shape::Text, _) => (
            quote!(u64),
            quote! {
                fn decode(body: &[u8]) -> Result<Self::Response, serde_json::Error> {
                    serde_json::from_slice(body)
                }
            },
        ),
        _ => bail!("a JSON response without a type"),
    };
    let path_values = op.path_params.iter().map(|p| {
        let f = ident(&p.rust);
        quote!(self.#f.as_str())
    });
    let query_fn = if query_pushes.is_empty() {
        quote! {
            fn query(&self) -> Vec<(&'static str, String)> {
                Vec::new()
            }
        }
    } else {
        quote! {
            fn query(&self) -> Vec<(&'static str, String)> {
                let mut query = Vec::new();
                #(#query_pushes)*
                query
            }
        }
    };
    let default_impl = if new_args.is_empty() {
        quote! {
            impl Default for #name {
                fn default() -> Self {
                    Self::new()
                }
            }
        }
    } else {
        quote!()
    };
    Ok(quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        pub struct #name {
            #(#fields)*
        }

        #default_impl

        impl #name {
            /// A request with its required parts; optional parts are unset.
            pub fn new(#(#new_args),*) -> Self {
                Self { #(#new_inits),* }
            }

            #(#setters)*
        }

        impl Operation for #name {
            type Response = #response;

            const ROUTE: &'static Route = &routes::#route;

            fn path(&self) -> String {
                Self::ROUTE.render(&[#(#path_values),*])
            }

            #query_fn
            #body_fn
            #decode
        }
    })
}

fn http_reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        _ => "",
    }
}

/// `RequestKind` (the operations as values) and `Request` (a decoded request: typed ids and body)
/// with its decoder, plus the doctests that show a `match` missing an operation does not compile.
fn request_enum_tokens(ops: &[Op]) -> TokenStream {
    let names: Vec<Ident> = ops.iter().map(|o| ident(&o.request)).collect();
    let routes: Vec<Ident> = ops
        .iter()
        .map(|o| format_ident!("{}", route_ident(o)))
        .collect();
    let kind_docs = ops.iter().map(|o| {
        format!(
            " `{} {}` (operationId `{}`).",
            o.method, o.template, o.operation_id
        )
    });
    let mut variants = Vec::new();
    let mut decoders = Vec::new();
    // `Request::scope`: one or-pattern per scope kind, one for requests without a scope.
    let mut by_kind: Vec<(String, Ident, Vec<Ident>)> = Vec::new();
    let mut unscoped = Vec::new();
    for op in ops {
        let name = ident(&op.request);
        match op.path_params.first() {
            Some(p) if matches!(p.id_kind.as_str(), "Chat" | "Team" | "User") => {
                match by_kind.iter_mut().find(|(k, _, _)| *k == p.id_kind) {
                    Some((_, _, names)) => names.push(name),
                    None => by_kind.push((p.id_kind.clone(), ident(&p.rust), vec![name])),
                }
            }
            _ => unscoped.push(name),
        }
    }
    let mut scopes: Vec<TokenStream> = by_kind
        .iter()
        .map(|(kind, field, names)| {
            let kind = format_ident!("{}", kind);
            quote!(#(Self::#names { #field, .. })|* => Some(crate::Scope::#kind(#field.clone())),)
        })
        .collect();
    if !unscoped.is_empty() {
        scopes.push(quote!(#(Self::#unscoped { .. })|* => None,));
    }
    for op in ops {
        let name = ident(&op.request);
        let vdoc = doc(&format!(
            "`{} {}`: {}; see [`{}`].",
            op.method, op.template, op.summary, op.request
        ));
        let mut fields = Vec::new();
        let mut inits = Vec::new();
        for (i, p) in op.path_params.iter().enumerate() {
            let f = ident(&p.rust);
            let t = ident(&p.id_type);
            let wire = &p.wire;
            let i = proc_macro2::Literal::usize_unsuffixed(i);
            let d = format!(" Path parameter `{wire}`.");
            fields.push(quote!(#[doc = #d] #f: #t,));
            inits.push(quote! {
                #f: #t::new(params[#i].as_ref())
                    .map_err(|source| DecodeError::InvalidId { param: #wire, source })?,
            });
        }
        match &op.body {
            Body::None => {}
            Body::Json { ty, required, .. } => {
                let t = ident(ty);
                let decode = if *required {
                    quote!(crate::operation::json_body(#ty, body)?)
                } else {
                    quote!(crate::operation::optional_json_body(#ty, body)?)
                };
                let d = if *required {
                    " The JSON body.".to_owned()
                } else {
                    format!(" The JSON body; `{ty}::default()` when none was sent.")
                };
                fields.push(quote!(#[doc = #d] body: #t,));
                inits.push(quote!(body: #decode,));
            }
            Body::Zip { .. } => {
                fields.push(
                    quote!(#[doc = " The app package (a zip file) as sent."] package: Vec<u8>,),
                );
                inits.push(quote!(package: body.to_vec(),));
            }
        }
        if fields.is_empty() {
            variants.push(quote!(#vdoc #name,));
            decoders.push(quote!(RequestKind::#name => Self::#name,));
        } else {
            variants.push(quote!(#vdoc #name { #(#fields)* },));
            decoders.push(quote!(RequestKind::#name => Self::#name { #(#inits)* },));
        }
    }
    let arms: Vec<String> = ops
        .iter()
        .map(|o| {
            format!(
                "        Request::{} {{ .. }} => \"{}\",",
                o.request, o.operation_id
            )
        })
        .collect();
    let all_arms = arms.join("\n");
    let missing_one = arms[..arms.len().saturating_sub(1)].join("\n");
    let last = ops.last().map_or("", |o| o.request.as_str());
    let request_doc = doc(&format!(
        "One decoded request: the operation with its typed path ids and body, as\n\
         [`Request::decode`] builds it from a route's parameters and the body bytes.\n\
         The query options are not part of it; they travel separately.\n\
         \n\
         The enum is exhaustive on purpose: a handler that `match`es it without a wildcard stops\n\
         compiling when an operation is added to the fragment. Every operation handled:\n\
         \n\
         ```\n\
         use teamsapp_types::Request;\n\
         \n\
         fn handle(request: &Request) -> &'static str {{\n\
         \x20   match request {{\n\
         {all_arms}\n\
         \x20   }}\n\
         }}\n\
         ```\n\
         \n\
         Leave one out (here `{last}`) and it does not compile (`E0004`, non-exhaustive patterns):\n\
         \n\
         ```compile_fail,E0004\n\
         use teamsapp_types::Request;\n\
         \n\
         fn handle(request: &Request) -> &'static str {{\n\
         \x20   match request {{\n\
         {missing_one}\n\
         \x20   }}\n\
         }}\n\
         ```"
    ));
    quote! {
        /// Every operation of the fragment as a value, one variant per `x-teamsapp-request` name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RequestKind {
            #(#[doc = #kind_docs] #names,)*
        }

        impl RequestKind {
            /// Every operation, in the fragment's order.
            pub const ALL: &'static [Self] = &[#(Self::#names),*];

            /// The operation's route.
            pub fn route(self) -> &'static Route {
                match self {
                    #(Self::#names => &routes::#routes,)*
                }
            }
        }

        #request_doc
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant, reason = "decoded once and matched once per request; boxing would add an allocation to every request")]
        pub enum Request {
            #(#variants)*
        }

        impl Request {
            /// Decodes the request for `kind` from its path parameters (percent-decoded, in
            /// template order) and its body: each id is checked by its newtype, a JSON body is
            /// read as the operation's type (an optional one as its default when empty).
            pub fn decode<S: AsRef<str>>(
                kind: RequestKind,
                params: &[S],
                body: &[u8],
            ) -> Result<Self, DecodeError> {
                crate::operation::check_params(kind.route(), params)?;
                Ok(match kind {
                    #(#decoders)*
                })
            }

            /// The chat, team or user the request is addressed to: its first path parameter,
            /// when that is a chat, team or user id (`x-ms-docs-key-type`).
            pub fn scope(&self) -> Option<crate::Scope> {
                match self {
                    #(#scopes)*
                }
            }

            /// The operation this request is for.
            pub fn kind(&self) -> RequestKind {
                match self {
                    #(Self::#names { .. } => RequestKind::#names,)*
                }
            }
        }
    }
}
