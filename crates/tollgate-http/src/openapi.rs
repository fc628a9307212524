//! The OpenAPI 3.1 description of every route, built from the code: each route is registered
//! together with its [`Op`] ([`crate::routes::Routes::route`]), and the [`Spec`] is built from
//! the registered routes. Served at `/openapi.json`, rendered at `/docs`.

use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::{RequestBody, RequestBodyBuilder};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{
    ContentBuilder, HttpMethod, InfoBuilder, OpenApi, OpenApiBuilder, Paths, RefOr, Required,
    Response, ResponseBuilder, ResponsesBuilder,
};

/// A field of a body: its name, its schema and whether it is required.
pub type Field = (&'static str, Schema, bool);

pub fn string() -> Schema {
    ObjectBuilder::new().schema_type(Type::String).into()
}

pub fn integer() -> Schema {
    ObjectBuilder::new().schema_type(Type::Integer).into()
}

pub fn boolean() -> Schema {
    ObjectBuilder::new().schema_type(Type::Boolean).into()
}

/// A string or `null`.
pub fn nullable_string() -> Schema {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null,
        ]))
        .into()
}

/// A list of `items`.
pub fn array_of(items: Schema) -> Schema {
    ArrayBuilder::new().items(RefOr::T(items)).into()
}

pub fn strings() -> Schema {
    array_of(string())
}

/// Any JSON value (audience may be a string or a list).
pub fn any() -> Schema {
    ObjectBuilder::new().into()
}

/// An object with these fields; others may appear.
pub fn object(fields: Vec<Field>) -> Schema {
    let mut b = ObjectBuilder::new().schema_type(Type::Object);
    for (name, schema, required) in fields {
        b = b.property(name, schema);
        if required {
            b = b.required(name);
        }
    }
    b.into()
}

/// A form body whose fields are all strings.
pub fn form(fields: &[(&'static str, bool)]) -> (&'static str, Schema) {
    let fields = fields.iter().map(|(n, r)| (*n, string(), *r)).collect();
    ("application/x-www-form-urlencoded", object(fields))
}

/// A request body offered in one or more media types.
pub fn body(media: Vec<(&'static str, Schema)>, required: bool) -> RequestBody {
    let mut b = RequestBodyBuilder::new().required(Some(if required {
        Required::True
    } else {
        Required::False
    }));
    for (media_type, schema) in media {
        b = b.content(
            media_type,
            ContentBuilder::new().schema(Some(schema)).build(),
        );
    }
    b.build()
}

/// A JSON answer.
pub fn json(description: &str, schema: Schema) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
}

/// An HTML page.
pub fn html(description: &str) -> Response {
    text(description, "text/html; charset=utf-8")
}

/// A text answer (a stylesheet, a script, metrics) in the media type `media`.
pub fn text(description: &str, media: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(media, ContentBuilder::new().schema(Some(string())).build())
        .build()
}

/// A redirect, or an answer without a body.
pub fn empty(description: &str) -> Response {
    ResponseBuilder::new().description(description).build()
}

/// `{error, error_description}` (RFC 6749 section 5.2).
pub fn rfc6749_error() -> Schema {
    object(vec![
        ("error", string(), true),
        ("error_description", string(), false),
    ])
}

/// The operations of the registered routes.
#[derive(Default)]
pub struct Spec {
    paths: Paths,
}

/// One operation: its method and path are the route's.
#[derive(Clone)]
pub struct Op {
    pub method: HttpMethod,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub query: Vec<(&'static str, bool)>,
    pub path_params: Vec<&'static str>,
    pub body: Option<RequestBody>,
    pub responses: Vec<(&'static str, Response)>,
}

impl Op {
    pub fn new(method: HttpMethod, path: &'static str, tag: &'static str) -> Self {
        Self {
            method,
            path,
            tag,
            summary: "",
            query: Vec::new(),
            path_params: Vec::new(),
            body: None,
            responses: Vec::new(),
        }
    }
    pub fn get(path: &'static str, tag: &'static str) -> Self {
        Self::new(HttpMethod::Get, path, tag)
    }
    pub fn post(path: &'static str, tag: &'static str) -> Self {
        Self::new(HttpMethod::Post, path, tag)
    }
    pub fn delete(path: &'static str, tag: &'static str) -> Self {
        Self::new(HttpMethod::Delete, path, tag)
    }
    pub fn summary(mut self, s: &'static str) -> Self {
        self.summary = s;
        self
    }
    pub fn query(mut self, params: &[(&'static str, bool)]) -> Self {
        self.query.extend_from_slice(params);
        self
    }
    pub fn path_param(mut self, name: &'static str) -> Self {
        self.path_params.push(name);
        self
    }
    pub fn body(mut self, body: RequestBody) -> Self {
        self.body = Some(body);
        self
    }
    /// A JSON request body.
    pub fn json_body(self, schema: Schema, required: bool) -> Self {
        self.body(body(vec![("application/json", schema)], required))
    }
    pub fn respond(mut self, status: &'static str, response: Response) -> Self {
        self.responses.push((status, response));
        self
    }
    /// The same response for several statuses.
    pub fn respond_all(mut self, statuses: &[&'static str], response: &Response) -> Self {
        for s in statuses {
            self.responses.push((s, response.clone()));
        }
        self
    }
}

impl Spec {
    pub fn of(ops: impl IntoIterator<Item = Op>) -> Self {
        let mut spec = Self::default();
        for op in ops {
            spec.add(op);
        }
        spec
    }

    pub fn add(&mut self, op: Op) {
        let mut responses = ResponsesBuilder::new();
        for (status, r) in op.responses {
            responses = responses.response(status, RefOr::T(r));
        }
        let mut b = OperationBuilder::new()
            .tag(op.tag)
            .summary(Some(op.summary))
            .responses(responses.build());
        for (name, required) in op.query {
            b = b.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Query)
                    .required(if required {
                        Required::True
                    } else {
                        Required::False
                    })
                    .schema(Some(string())),
            );
        }
        for name in op.path_params {
            b = b.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(string())),
            );
        }
        if let Some(body) = op.body {
            b = b.request_body(Some(body));
        }
        self.paths
            .add_path_operation(op.path, vec![op.method], b.build());
    }

    /// `(path, method)` of every operation.
    pub fn operations(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (path, item) in &self.paths.paths {
            let methods = [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("DELETE", item.delete.is_some()),
            ];
            for (m, present) in methods {
                if present {
                    out.push((path.clone(), m.to_owned()));
                }
            }
        }
        out
    }

    pub fn build(self) -> OpenApi {
        OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title("Tollgate")
                    .version(env!("CARGO_PKG_VERSION"))
                    .description(Some(
                        "OAuth 2.0 and OpenID Connect in three dialects: standard (RFC 6749 \
                         forms and Optoro JSON), Twilio OAuth v2 and Twilio OAuth v1.",
                    )),
            )
            .paths(self.paths)
            .build()
    }
}

/// A redirect to the client or to sign in (`Location`).
pub fn redirect(description: &str) -> Response {
    located(description).build()
}

/// A redirect whose JSON body also names the target.
pub fn redirect_with_body(description: &str, schema: Schema) -> Response {
    located(description)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
}

fn located(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).header(
        "location",
        utoipa::openapi::HeaderBuilder::new()
            .schema(string())
            .build(),
    )
}

/// The token/revoke/introspect error statuses of an RFC 6749 route taking form bodies.
pub const RFC_FORM_ERRORS: &[&str] = &["400", "401", "413", "415", "429", "503"];
/// RFC 8628 section 3.2's device authorization response.
pub fn device_authorization() -> Schema {
    object(vec![
        ("device_code", string(), true),
        ("user_code", string(), true),
        ("verification_uri", string(), true),
        ("verification_uri_complete", string(), true),
        ("expires_in", integer(), true),
        ("interval", integer(), true),
    ])
}

/// A list of objects (JWKs).
pub fn strings_or_objects() -> Schema {
    array_of(any())
}
