//! What the balancer changes in the headers it passes on, both ways: the hop-by-hop headers,
//! which describe one connection and not the message (RFC 9110 §7.6.1), are dropped; and a
//! request gets the client's address appended to `X-Forwarded-For`, as the ALB does.

use std::net::IpAddr;

use hyper::HeaderMap;
use hyper::header::{CONNECTION, HeaderName, HeaderValue};

/// The hop-by-hop headers every proxy drops; besides these, the `Proxy-*` ones and those
/// `Connection` names.
const HOP_BY_HOP: [&str; 6] = ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"];

/// `X-Forwarded-For`: the client, then each proxy's peer, left to right.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Removes the headers that only concern the connection they came on.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    let proxy: Vec<HeaderName> = headers.keys().filter(|name| name.as_str().starts_with("proxy-")).cloned().collect();
    for name in named.into_iter().chain(proxy) {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Appends `client` to the request's `X-Forwarded-For`, as one comma-separated value: the
/// app takes the right-most entry of it as the client (the one the balancer it trusts
/// appended; the entries to its left are whatever the client claimed), as it does behind
/// the ALB, which appends the same way.
pub fn append_forwarded_for(headers: &mut HeaderMap, client: IpAddr) {
    let mut hops: Vec<String> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
        .collect();
    hops.push(client.to_string());
    // Visible ASCII (what `to_str` accepts) joined by ", " is a valid header value.
    let value = HeaderValue::try_from(hops.join(", ")).expect("visible ASCII is a header value");
    headers.insert(X_FORWARDED_FOR, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in lines {
            headers.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_dropped() {
        let mut h = headers(&[
            ("connection", "keep-alive, X-Secret"),
            ("connection", "x-other"),
            ("x-secret", "1"),
            ("x-other", "2"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic eA=="),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("trailer", "x-checksum"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("authorization", "Bearer t"),
            ("content-length", "3"),
            ("x-kept", "3"),
        ]);
        strip_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["authorization", "content-length", "x-kept"]);
    }

    #[test]
    fn the_client_is_appended_to_forwarded_for_right_most() {
        let client: IpAddr = "192.0.2.7".parse().unwrap();
        let mut fresh = HeaderMap::new();
        append_forwarded_for(&mut fresh, client);
        assert_eq!(fresh[X_FORWARDED_FOR], "192.0.2.7");

        let mut claimed = headers(&[("x-forwarded-for", "10.0.0.1, 10.0.0.2"), ("x-forwarded-for", " 10.0.0.3 ")]);
        append_forwarded_for(&mut claimed, client);
        let values: Vec<&HeaderValue> = claimed.get_all(X_FORWARDED_FOR).iter().collect();
        assert_eq!(values, ["10.0.0.1, 10.0.0.2, 10.0.0.3, 192.0.2.7"], "one value, the client last");
    }
}
