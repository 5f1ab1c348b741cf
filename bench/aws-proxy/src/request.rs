//! What the proxy reads from an AWS call: the service it is for, its action, its parameters
//! (query protocols) or its JSON body (JSON protocols), and how its errors are encoded.

use hyper::HeaderMap;

use crate::protocol::Protocol;

/// The services whose calls strict mode looks into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// EC2 (signed for `ec2`).
    Ec2,
    /// Elastic Load Balancing v2 (signed for `elasticloadbalancing`).
    Elb,
    /// EC2 Auto Scaling (signed for `autoscaling`).
    AutoScaling,
    /// IAM (signed for `iam`).
    Iam,
    /// DynamoDB (`X-Amz-Target: DynamoDB_20120810.*`).
    DynamoDb,
    /// Any other.
    Other,
}

/// One AWS call, read.
#[derive(Debug, Clone)]
pub(crate) struct AwsRequest {
    /// The service it is for.
    pub(crate) service: Service,
    /// How its errors are encoded.
    pub(crate) protocol: Protocol,
    /// The action: `DescribeVpcs`, `CreateTable`, … (`unknown` when there is none).
    pub(crate) action: String,
    /// The decoded form parameters of a query-protocol call, in order (`Action` among them).
    pub(crate) params: Vec<(String, String)>,
    /// The body of a JSON-protocol call (`Null` for the others).
    pub(crate) json: serde_json::Value,
}

impl AwsRequest {
    /// Reads a call: JSON protocols name the action in `X-Amz-Target`
    /// (`DynamoDB_20120810.DescribeTable`), query protocols in the form body
    /// (`Action=DescribeVpcs`); the service is the one the call is signed for.
    pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> AwsRequest {
        let protocol = Protocol::of(headers);
        let target = headers.get("x-amz-target").and_then(|t| t.to_str().ok());
        let (action, params, json) = match target {
            Some(target) => {
                let action = target.rsplit('.').next().unwrap_or(target).to_string();
                (action, Vec::new(), serde_json::from_slice(body).unwrap_or_default())
            }
            None => {
                let params: Vec<(String, String)> =
                    form_urlencoded::parse(body).map(|(name, value)| (name.into_owned(), value.into_owned())).collect();
                let action = params.iter().find(|(name, _)| name == "Action").map(|(_, value)| value.clone());
                (action.unwrap_or_else(|| "unknown".to_string()), params, serde_json::Value::Null)
            }
        };
        let service = match (target, signing_service(headers)) {
            (Some(target), _) if target.starts_with("DynamoDB_") => Service::DynamoDb,
            (_, Some("ec2")) => Service::Ec2,
            (_, Some("elasticloadbalancing")) => Service::Elb,
            (_, Some("autoscaling")) => Service::AutoScaling,
            (_, Some("iam")) => Service::Iam,
            _ => Service::Other,
        };
        AwsRequest { service, protocol, action, params, json }
    }

    /// Whether this is `action` of `service`.
    pub(crate) fn is(&self, service: Service, action: &str) -> bool {
        self.service == service && self.action == action
    }

    /// The value of the query parameter `name`.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, value)| value.as_str())
    }

    /// The `TableName` of a DynamoDB call.
    pub(crate) fn table_name(&self) -> Option<&str> {
        self.json.get("TableName").and_then(|name| name.as_str())
    }
}

/// The service of the SigV4 credential scope:
/// `Credential=AKID/20260101/us-east-1/ec2/aws4_request` → `ec2`.
fn signing_service(headers: &HeaderMap) -> Option<&str> {
    let authorization = headers.get("authorization")?.to_str().ok()?;
    let credential = authorization.split("Credential=").nth(1)?;
    credential.split([',', ' ']).next()?.split('/').nth(3)
}

/// Headers signed for `service` (`ec2`, `autoscaling`, `monitoring`, …) in us-east-1, as far as
/// moto looks: it reads the service and region of the credential scope, not the signature.
pub(crate) fn signed(service: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=0"
    );
    headers.insert("authorization", authorization.parse().expect("a valid header"));
    headers.insert("content-type", "application/x-www-form-urlencoded; charset=utf-8".parse().expect("a valid header"));
    headers
}

/// Calls as the SDK sends them, for tests.
#[cfg(test)]
pub(crate) mod testing {
    pub(crate) use super::signed;
    use super::*;

    /// A query-protocol call to `service` (`ec2`, `elasticloadbalancing`, …) with `params`.
    pub(crate) fn query(service: &str, params: &[(&str, &str)]) -> AwsRequest {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        AwsRequest::parse(&signed(service), body.as_bytes())
    }

    /// A DynamoDB call of `action` with the JSON `body`.
    pub(crate) fn dynamodb(action: &str, body: serde_json::Value) -> AwsRequest {
        let mut headers = signed("dynamodb");
        headers.insert("x-amz-target", format!("DynamoDB_20120810.{action}").parse().unwrap());
        AwsRequest::parse(&headers, body.to_string().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn query_calls_are_read_from_the_signature_and_the_form_body() {
        let call = AwsRequest::parse(&signed("ec2"), b"Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=tag%3Aapp");
        assert!(call.is(Service::Ec2, "DescribeVpcs"));
        assert_eq!(call.protocol, Protocol::Ec2);
        assert_eq!(call.param("Filter.1.Name"), Some("tag:app"));
        let call = AwsRequest::parse(&signed("elasticloadbalancing"), b"Action=DeleteListener");
        assert!(call.is(Service::Elb, "DeleteListener"));
        assert_eq!(call.protocol, Protocol::Query);
        assert_eq!(AwsRequest::parse(&signed("autoscaling"), b"").action, "unknown");
        assert_eq!(AwsRequest::parse(&signed("iam"), b"").service, Service::Iam);
        assert_eq!(AwsRequest::parse(&HeaderMap::new(), b"Action=X").service, Service::Other);
    }

    #[test]
    fn json_calls_are_read_from_the_target_and_the_body() {
        let mut headers = signed("dynamodb");
        headers.insert("x-amz-target", "DynamoDB_20120810.CreateTable".parse().unwrap());
        let call = AwsRequest::parse(&headers, br#"{"TableName":"t"}"#);
        assert!(call.is(Service::DynamoDb, "CreateTable"));
        assert_eq!(call.protocol, Protocol::Json);
        assert_eq!(call.table_name(), Some("t"));
        headers.insert("x-amz-target", "AmazonSSM.GetParameter".parse().unwrap());
        let call = AwsRequest::parse(&headers, b"{}");
        assert_eq!((call.service, call.action.as_str()), (Service::Other, "GetParameter"));
    }
}
