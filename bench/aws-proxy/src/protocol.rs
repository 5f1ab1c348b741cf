//! How each AWS protocol encodes an error, so that an answer the proxy makes up reads to the
//! SDK exactly like one from AWS.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{HeaderMap, Response, StatusCode};

use crate::xml;

/// How a service encodes errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// EC2's query protocol: `<Response><Errors><Error>…`.
    Ec2,
    /// The AWS query protocol (IAM, ELB, Auto Scaling, CloudWatch): `<ErrorResponse>…`.
    Query,
    /// The JSON protocols (DynamoDB, ECR, SSM): `{"__type": …}`.
    Json,
}

impl Protocol {
    /// The protocol of a call, from its headers: JSON protocols name the action in
    /// `X-Amz-Target`, EC2 signs for the `ec2` service, the rest is the AWS query protocol.
    pub(crate) fn of(headers: &HeaderMap) -> Protocol {
        if headers.contains_key("x-amz-target") {
            return Protocol::Json;
        }
        let authorization = headers.get("authorization").and_then(|a| a.to_str().ok()).unwrap_or_default();
        if authorization.contains("/ec2/aws4_request") { Protocol::Ec2 } else { Protocol::Query }
    }

    /// The code the service answers when it throttles.
    pub(crate) fn throttling_code(self) -> &'static str {
        match self {
            Protocol::Ec2 => "RequestLimitExceeded",
            Protocol::Query => "Throttling",
            Protocol::Json => "ThrottlingException",
        }
    }

    /// An error answer with AWS's `code` and `message`.
    pub(crate) fn error(self, status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
        let (content_type, body) = match self {
            Protocol::Ec2 => (
                "text/xml",
                format!(
                    "<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors>\
                     <RequestID>aws-proxy</RequestID></Response>",
                    xml::escape(code),
                    xml::escape(message)
                ),
            ),
            Protocol::Query => (
                "text/xml",
                format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message>\
                     </Error><RequestId>aws-proxy</RequestId></ErrorResponse>",
                    xml::escape(code),
                    xml::escape(message)
                ),
            ),
            Protocol::Json => {
                ("application/x-amz-json-1.0", serde_json::json!({ "__type": code, "message": message }).to_string())
            }
        };
        Response::builder()
            .status(status)
            .header("content-type", content_type)
            .header("x-amzn-errortype", code)
            .body(Full::new(Bytes::from(body)))
            .expect("a valid response")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn the_protocol_comes_from_the_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(Protocol::of(&headers), Protocol::Query);
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/ec2/aws4_request".parse().unwrap(),
        );
        assert_eq!(Protocol::of(&headers), Protocol::Ec2);
        headers.insert("x-amz-target", "DynamoDB_20120810.CreateTable".parse().unwrap());
        assert_eq!(Protocol::of(&headers), Protocol::Json);
        assert_eq!(Protocol::Json.throttling_code(), "ThrottlingException");
    }

    #[tokio::test]
    async fn messages_are_escaped_for_their_encoding() {
        let message = r#"Target group 'a&b' is "in use" <now>"#;
        let xml = Protocol::Query.error(StatusCode::BAD_REQUEST, "ResourceInUse", message);
        let text = String::from_utf8(xml.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        let document = roxmltree::Document::parse(&text).unwrap();
        let parsed = document.descendants().find(|n| n.has_tag_name("Message")).and_then(|n| n.text());
        assert_eq!(parsed, Some(message));
        let json = Protocol::Json.error(StatusCode::BAD_REQUEST, "ResourceInUseException", message);
        let body = json.into_body().collect().await.unwrap().to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["message"], message);
    }
}
