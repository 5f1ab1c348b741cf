//! Random requests, from well-formed to hostile: methods, paths under the known route
//! prefixes, query strings, headers and bodies; and writes that are valid but for one
//! edge-case field. Every one is valid HTTP/1.1 within the server's limits on header and
//! URI size, so the app itself (not the HTTP parser) answers.

use std::fmt;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::support::API_KEY;

/// The largest body the app accepts (`routes::MAX_BODY_BYTES`).
const MAX_BODY: usize = 1024 * 1024;

/// One generated request.
#[derive(Clone)]
pub struct FuzzRequest {
    pub method: Method,
    /// Path and query, to append to the server's base URL.
    pub target: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Vec<u8>,
}

/// Shows at most this many characters of a long field when a failing case is printed.
const SHOWN: usize = 300;

fn shorten(text: &str) -> String {
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
        None => text.to_string(),
    }
}

impl fmt::Debug for FuzzRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<_> = self
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", shorten(&String::from_utf8_lossy(value.as_bytes()))))
            .collect();
        f.debug_struct("FuzzRequest")
            .field("method", &self.method)
            .field("target", &shorten(&self.target))
            .field("headers", &headers)
            .field("body", &shorten(&String::from_utf8_lossy(&self.body)))
            .finish()
    }
}

/// Requests; `token` is a valid bearer token, so that some reach the item handlers.
pub fn request(token: &str) -> impl Strategy<Value = FuzzRequest> + use<> {
    (method_and_path(), query(), vec(header(token.to_string()), 0..8), body()).prop_map(
        |((method, path), query, headers, body)| {
            let target = match query {
                Some(query) => format!("{path}?{query}"),
                None => path,
            };
            FuzzRequest { method, target, headers, body }
        },
    )
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        8 => select(vec![Method::GET, Method::POST, Method::PUT, Method::DELETE]),
        2 => select(vec![Method::HEAD, Method::PATCH, Method::OPTIONS, Method::TRACE]),
        1 => "[A-Z][A-Z_-]{0,15}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

/// Every byte as `%XX`, whatever it is.
fn percent_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// Every route and the methods it answers; `{}` is a path parameter.
const ROUTES: &[(&str, &[&str])] = &[
    ("/", &["GET"]),
    ("/health", &["GET"]),
    ("/status", &["GET"]),
    ("/update", &["POST"]),
    ("/logs", &["GET"]),
    ("/users", &["GET"]),
    ("/users/", &["GET"]),
    ("/user", &["POST"]),
    ("/auth/login", &["POST"]),
    ("/items", &["GET", "POST"]),
    ("/items/{}", &["GET", "PUT", "DELETE"]),
    ("/api/v1/users", &["GET", "POST"]),
    ("/api/v1/users/dynamo", &["GET"]),
    ("/api/v1/users/{}", &["DELETE"]),
    ("/openapi.json", &["GET"]),
];

/// A method and a path: mostly a route with one of its own methods (its parameter random),
/// else any method on a route, or on random segments under a route prefix.
fn method_and_path() -> impl Strategy<Value = (Method, String)> {
    let route = (select(ROUTES), any::<prop::sample::Index>(), prop::bool::weighted(0.8), method(), segment())
        .prop_map(|((template, methods), pick, own_method, other, parameter)| {
            let method = if own_method { Method::from_bytes(pick.get(methods).as_bytes()).unwrap() } else { other };
            (method, template.replace("{}", &parameter))
        });
    let prefix = select(vec!["", "/api", "/api/v1", "/api/v1/users", "/status", "/users", "/user", "/auth", "/items"]);
    let under_prefix = (method(), prefix, vec(segment(), 1..4), any::<bool>()).prop_map(
        |(method, prefix, segments, trailing_slash)| {
            let mut path = prefix.to_string();
            for segment in segments {
                path.push('/');
                path.push_str(&segment);
            }
            if trailing_slash {
                path.push('/');
            }
            (method, path)
        },
    );
    prop_oneof![4 => route, 1 => under_prefix]
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec![
            "1", "0", "-1", "007", "1.5", "18446744073709551616", "demo", "dynamo", "login", "users",
            ".", "..", "%2e%2e", "", "%2F", "%00", "%ZZ", "%", "%E9", "%C3%A9", "%F0%9F%92%A9",
        ])
        .prop_map(String::from),
        3 => "[A-Za-z0-9._~!$&'()*+,;=:@-]{1,24}",
        2 => "\\PC{1,16}".prop_map(|s| percent_encode(s.as_bytes())),
        1 => "\\PC{1,16}",
        2 => vec(any::<u8>(), 1..16).prop_map(|bytes| percent_encode(&bytes)),
        1 => (1..8_192usize).prop_map(|n| "a".repeat(n)),
        1 => ("\\PC", 1..1_000usize).prop_map(|(c, n)| percent_encode(c.repeat(n).as_bytes())),
    ]
}

fn query() -> impl Strategy<Value = Option<String>> {
    let key = prop_oneof![
        4 => select(vec!["page", "per_page"]).prop_map(String::from),
        1 => select(vec!["", "page[]", "page%00", "%ZZ", "per%5Fpage"]).prop_map(String::from),
        1 => "[a-z_]{1,12}",
    ];
    let value = prop_oneof![
        4 => select(vec![
            "1", "0", "-1", "2", "10", "100", "101", "18446744073709551615", "18446744073709551616", "abc", "",
            "1.5", "1e3", "+1", "%FF", "%ZZ", "%2B1", " 1",
        ])
        .prop_map(String::from),
        2 => "[0-9]{1,30}",
        1 => "\\PC{0,16}".prop_map(|s| percent_encode(s.as_bytes())),
    ];
    prop_oneof![
        3 => Just(None),
        4 => vec((key, value), 1..4)
            .prop_map(|pairs| Some(pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))),
        1 => "[A-Za-z0-9=&%+;._~-]{0,64}".prop_map(Some),
        1 => (1..4_096usize).prop_map(|n| Some(format!("page={}", "9".repeat(n)))),
    ]
}

/// Header text: visible ASCII, tabs, spaces and obs-text bytes, the most a header value may hold.
fn header_text(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(prop_oneof![8 => 0x20..0x7fu8, 1 => Just(b'\t'), 1 => 0x80..=0xffu8], 0..max)
}

fn header(token: String) -> impl Strategy<Value = (HeaderName, HeaderValue)> {
    let content_type = select(vec![
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=ISO-8859-1",
        "application/x-www-form-urlencodedjunk",
        "multipart/form-data; boundary=x",
        "text/plain",
        "",
        ";;;",
    ])
    .prop_map(|v| v.as_bytes().to_vec());
    let api_key = prop_oneof![3 => Just(API_KEY.as_bytes().to_vec()), 1 => header_text(64)];
    let authorization = prop_oneof![
        3 => select(vec![format!("Bearer {token}"), format!("bearer {token}"), format!("Bearer  {token} ")]),
        1 => select(vec![format!("Bearer {token}x"), format!("Bearer {}", &token[1..]), format!("Basic {token}")]),
        2 => select(vec![
            "Bearer".to_string(),
            "Bearer ".to_string(),
            "Bearer a.b.c".to_string(),
            "Bearer ....".to_string(),
            "Bearer eyJhbGciOiJub25lIn0.e30.".to_string(),
            "Basic Zm9vOmJhcg==".to_string(),
        ]),
        2 => header_text(256).prop_map(|junk| format!("Bearer {}", String::from_utf8_lossy(&junk))),
    ]
    .prop_map(String::into_bytes);
    let value = prop_oneof![
        6 => header_text(128),
        1 => (1..32_768usize).prop_map(|n| vec![b'a'; n]),
    ];
    let name = prop_oneof![
        3 => select(vec!["content-type", "api-key", "authorization", "x-forwarded-for", "accept", "cookie"]),
        1 => Just("x-fuzz"),
    ]
    .prop_map(String::from);
    let named = prop_oneof![
        3 => content_type.prop_map(|v| ("content-type".to_string(), v)),
        3 => api_key.prop_map(|v| ("api-key".to_string(), v)),
        3 => authorization.prop_map(|v| ("authorization".to_string(), v)),
        2 => (name, value),
        1 => ("x-[a-z0-9-]{1,24}", header_text(64)),
    ];
    named.prop_map(|(name, value)| {
        (HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_bytes(&value).unwrap())
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => Just(Vec::new()),
        3 => vec(any::<u8>(), 0..2_048),
        4 => json_text().prop_map(String::into_bytes),
        4 => complete_object().prop_map(String::into_bytes),
        2 => (json_text(), any::<prop::sample::Index>()).prop_map(|(json, cut)| {
            json.as_bytes()[..cut.index(json.len().max(1))].to_vec()
        }),
        1 => (1..20_000usize, select(vec!["[", "{\"a\":", "{\"name\":["]), any::<bool>()).prop_map(
            |(depth, open, closed)| {
                let mut text = open.repeat(depth);
                text.push('1');
                if closed {
                    let close = if open == "[" { "]" } else if open == "{\"a\":" { "}" } else { "]}" };
                    text.push_str(&close.repeat(depth));
                }
                text.into_bytes()
            }
        ),
        1 => (MAX_BODY - 64..MAX_BODY + 64, select(vec!["name", "message", "description", "password"]))
            .prop_map(|(size, field)| {
                let filler = size.saturating_sub(field.len() + 8);
                format!("{{\"{field}\":\"{}\"}}", "x".repeat(filler)).into_bytes()
            }),
        3 => vec(form_pair(), 0..6).prop_map(|pairs| pairs.join(&b'&')),
    ]
}

/// A JSON object with every field any route reads, each plausible, one of them perhaps
/// replaced by any value: most of these pass validation, so they reach the stores.
fn complete_object() -> impl Strategy<Value = String> {
    let quoted = |s: String| Value::String(s).to_string();
    let fields = (
        "[a-z][a-z0-9._-]{0,15}".prop_map(quoted),
        "[0-9a-f]{40}".prop_map(quoted),
        "[A-Z][a-z]{1,10} [A-Z][a-z]{1,10}".prop_map(quoted),
        "[a-z]{1,10}@[a-z]{1,10}\\.(com|it|org)".prop_map(quoted),
        any::<i64>().prop_map(|n| n.to_string()),
        "\\PC{0,40}".prop_map(quoted),
        "\\PC{0,40}".prop_map(quoted),
    );
    let replacement = proptest::option::of((0..7usize, json_value()));
    (fields, replacement).prop_map(|((username, password, name, email, counter, message, description), replacement)| {
        let mut values = [username, password, name, email, counter, message, description];
        if let Some((field, value)) = replacement {
            values[field] = value;
        }
        let keys = ["username", "password", "name", "email", "counter", "message", "description"];
        let members: Vec<String> = keys.iter().zip(values).map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", members.join(","))
    })
}

/// A JSON object with some of the fields the routes read, holding values of every type.
fn json_text() -> impl Strategy<Value = String> {
    let field = select(vec!["username", "password", "name", "email", "counter", "message", "description", "extra"]);
    vec((field, json_value()), 0..5).prop_map(|fields| {
        let members: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", members.join(","))
    })
}

/// A JSON value as text: plausible field values, edge-case numbers and strings, nesting.
fn json_value() -> impl Strategy<Value = String> {
    let quoted = |s: String| Value::String(s).to_string();
    let leaf = prop_oneof![
        3 => "[0-9a-f]{40}".prop_map(quoted),
        3 => "[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}".prop_map(quoted),
        3 => "[A-Za-z ]{0,110}".prop_map(quoted),
        3 => "\\PC{0,40}".prop_map(quoted),
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(|x| x.to_string()),
        2 => select(vec![
            "null", "true", "false", "0", "-0", "1e400", "-1e400", "18446744073709551616", "1.0", "\"5\"", "\"\"",
            "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\\uDBFF\\uDFFF\"", "[]", "{}",
        ])
        .prop_map(String::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
            vec(("[a-z]{1,8}", inner), 0..4).prop_map(|members| {
                let members: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// One `key=value` of a form body, with odd encodings: bad escapes, raw Latin-1 and
/// invalid UTF-8 bytes, `+`, repeated `=`.
fn form_pair() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        4 => select(vec!["username", "password", "name", "email", "counter", "message", "description"]),
        1 => select(vec!["", "%ZZ", "user%6Eame", "a=b", "%00"]),
    ]
    .prop_map(|k| k.as_bytes().to_vec());
    let value = prop_oneof![
        3 => "[A-Za-z0-9 .@+-]{0,40}".prop_map(String::into_bytes),
        2 => select(vec!["%ZZ", "%", "%F", "+", "%FF%FE", "%C3%A9", "%00", "a=b=c", "1e3", "-1", "99999999999999999999"])
            .prop_map(|v| v.as_bytes().to_vec()),
        1 => select(vec![vec![0xe9u8], vec![0xc3, 0x28], vec![0xff, 0xfe, 0x00], vec![0xf0, 0x9f, 0x92]]),
        1 => "\\PC{0,20}".prop_map(String::into_bytes),
    ];
    prop_oneof![
        5 => (key.clone(), value).prop_map(|(mut k, v)| {
            k.push(b'=');
            k.extend(v);
            k
        }),
        1 => key,
    ]
}

/// The write routes, each with the fields it reads and whether it needs the bearer token.
const WRITES: &[(&str, &str, &[&str])] = &[
    ("POST", "/update", &["message"]),
    ("POST", "/user", &["name", "email"]),
    ("POST", "/api/v1/users", &["username", "password"]),
    ("POST", "/auth/login", &["username", "password"]),
    ("POST", "/items", &["name", "description"]),
    ("PUT", "/items/1", &["name", "description"]),
];

/// A write whose fields are all valid but one, which holds an edge-case string; or a
/// request whose path parameter is one.
pub fn edge_case_write(token: &str) -> impl Strategy<Value = FuzzRequest> + use<> {
    let authorization = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    let body_edge = (select(WRITES), any::<prop::sample::Index>(), edge_text(MAX_BODY)).prop_map(
        |((method, path, fields), pick, edge)| {
            let mut body = json!({
                "counter": 1, "message": "hello", "name": "Mario Rossi", "email": "m.rossi@example.com",
                "username": "edge", "password": "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "description": "plain",
            });
            body[*pick.get(fields)] = Value::String(edge);
            (Method::from_bytes(method.as_bytes()).unwrap(), path.to_string(), body.to_string().into_bytes())
        },
    );
    let path_edge =
        (select(vec!["GET /items/", "PUT /items/", "DELETE /items/", "DELETE /api/v1/users/"]), edge_text(2_048))
            .prop_map(|(route, edge)| {
                let (method, path) = route.split_once(' ').unwrap();
                let path = format!("{path}{}", percent_encode(edge.as_bytes()));
                (Method::from_bytes(method.as_bytes()).unwrap(), path, b"{\"name\":\"n\"}".to_vec())
            });
    prop_oneof![4 => body_edge, 1 => path_edge].prop_map(move |(method, target, body)| FuzzRequest {
        method,
        target,
        headers: vec![
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (HeaderName::from_static("api-key"), HeaderValue::from_static(API_KEY)),
            (AUTHORIZATION, authorization.clone()),
        ],
        body,
    })
}

/// Empty, blank, a control character, or one character repeated up to `max_chars` times,
/// often right at a limit: the app's (100, 128, 200, 10,000 characters) and DynamoDB's
/// (1,024-byte sort keys, 400 KB items).
fn edge_text(max_chars: usize) -> impl Strategy<Value = String> {
    let length = prop_oneof![
        1 => Just(0),
        2 => 0..2_048usize,
        2 => select(vec![100, 101, 128, 129, 200, 201, 256, 257, 1_024, 1_025, 10_000, 10_001, 100_001, 400_001]),
        1 => 0..MAX_BODY,
    ];
    (length, select(vec!['x', ' ', '\u{0}', 'é', '𝄞']))
        .prop_map(move |(length, c)| c.to_string().repeat(length.min(max_chars)))
}
