//! [`Refusal`]: an AWS call that failed, as a person reads it — the action, AWS's error code
//! and message, and how long cloudcomp kept trying — never the SDK's debug output. Every
//! call a kind makes goes through [`Refused::refused`] (or [`super::retry::retrying`]).

use std::fmt;
use std::time::Duration;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

/// An AWS call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The API action (`AuthorizeSecurityGroupIngress`).
    pub action: String,
    /// AWS's error code (`InvalidGroup.NotFound`); `None` when AWS never answered.
    pub code: Option<String>,
    /// AWS's message, or why the call could not be made.
    pub message: String,
    /// How long cloudcomp retried before giving up (zero: it did not retry).
    pub retried: Duration,
}

impl Refusal {
    /// The refusal an SDK error stands for.
    pub fn from_sdk<E, R>(err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug + 'static,
    {
        let action = action_of::<E>();
        match err {
            SdkError::ServiceError(service) => Refusal {
                action,
                code: service.err().code().map(str::to_string),
                message: service.err().message().unwrap_or("no message").to_string(),
                retried: Duration::ZERO,
            },
            other => Refusal {
                action,
                code: other.code().map(str::to_string),
                message: format!("could not reach AWS: {}", causes(other)),
                retried: Duration::ZERO,
            },
        }
    }

    /// Whether AWS answered with one of `codes`.
    pub fn is(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|code| codes.contains(&code))
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "AWS refused {}: {code} ({})", self.action, self.message.trim_end_matches('.'))?,
            None => write!(f, "{} failed: {}", self.action, self.message)?,
        }
        if !self.retried.is_zero() {
            let retried = Duration::from_secs(self.retried.as_secs().max(1));
            write!(f, ", still failing after {} of retries", humantime::format_duration(retried))?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

/// `err` and its sources, each as it displays itself, joined by `: ` (the SDK's own
/// `DisplayErrorContext` appends its debug output).
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let shown = cause.to_string();
        if !text.ends_with(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        source = cause.source();
    }
    text
}

/// The action an SDK operation error type belongs to: `CreateVpcError` → `CreateVpc`.
fn action_of<E>() -> String {
    let name = std::any::type_name::<E>();
    let last = name.rsplit("::").next().unwrap_or(name);
    last.strip_suffix("Error").unwrap_or(last).to_string()
}

/// Turns an SDK result into one whose error is a [`Refusal`].
pub trait Refused<T> {
    /// The result, its error as a [`Refusal`].
    fn refused(self) -> Result<T, Refusal>;
}

impl<T, E, R> Refused<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + 'static,
{
    fn refused(self) -> Result<T, Refusal> {
        self.map_err(|err| Refusal::from_sdk(&err))
    }
}

impl<T> Refused<T> for Result<T, Refusal> {
    fn refused(self) -> Result<T, Refusal> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_come_from_the_operation_error_type() {
        assert_eq!(action_of::<aws_sdk_ec2::operation::create_vpc::CreateVpcError>(), "CreateVpc");
        assert_eq!(
            action_of::<aws_sdk_ec2::operation::authorize_security_group_ingress::AuthorizeSecurityGroupIngressError>(),
            "AuthorizeSecurityGroupIngress"
        );
    }

    #[test]
    fn a_refusal_reads_like_a_sentence() {
        let refusal = Refusal {
            action: "AuthorizeSecurityGroupIngress".into(),
            code: Some("InvalidGroup.NotFound".into()),
            message: "The ID 'sg-123' does not exist".into(),
            retried: Duration::from_secs(120),
        };
        assert_eq!(
            refusal.to_string(),
            "AWS refused AuthorizeSecurityGroupIngress: InvalidGroup.NotFound (The ID 'sg-123' does not exist), \
             still failing after 2m of retries"
        );
        let first_try = Refusal { retried: Duration::ZERO, ..refusal };
        assert!(!first_try.to_string().contains("retries"));
        assert!(first_try.is(&["InvalidGroup.NotFound"]) && !first_try.is(&["DependencyViolation"]));
    }
}
