//! The JWT signing key from an SSM SecureString parameter, read once at start-up, so that
//! every instance behind the load balancer signs and checks tokens with one key.
//!
//! An instance may boot before its role is usable (the instance profile not yet attached,
//! IAM not yet propagated): every failure but a definitive answer about the parameter
//! itself (it does not exist, its KMS key is invalid) is retried with backoff for up to
//! [`RETRY_FOR`]; then start-up fails with an error that names the parameter, the action
//! and AWS's error code. The value is never logged and never part of an error.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::types::ParameterType;

use crate::auth::MIN_KEY_BYTES;

/// How long failures that may pass are retried.
pub const RETRY_FOR: Duration = Duration::from_secs(120);

/// Waits between attempts, and how long an attempt and the whole retrying may take.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    first: Duration,
    max: Duration,
    attempt: Duration,
    total: Duration,
}

/// The backoff of a real start-up.
const BACKOFF: Backoff = Backoff {
    first: Duration::from_secs(1),
    max: Duration::from_secs(15),
    attempt: Duration::from_secs(20),
    total: RETRY_FOR,
};

/// Why one attempt failed; never carries the value.
#[derive(Debug)]
struct Failure {
    /// Whether another attempt may succeed.
    retry: bool,
    /// AWS's error code and message, or what failed on the way there.
    reason: String,
}

/// Reads the decrypted value of the SecureString parameter `name`: the JWT key.
pub async fn read_key(client: &Client, name: &str) -> anyhow::Result<Vec<u8>> {
    let value = with_retries(name, BACKOFF, || get_parameter(client, name)).await?;
    anyhow::ensure!(
        value.len() >= MIN_KEY_BYTES,
        "the SSM parameter {name} holds a JWT key shorter than {MIN_KEY_BYTES} bytes"
    );
    Ok(value.into_bytes())
}

/// One `GetParameter` call with decryption.
async fn get_parameter(client: &Client, name: &str) -> Result<String, Failure> {
    let output = client.get_parameter().name(name).with_decryption(true).send().await.map_err(classify)?;
    let parameter =
        output.parameter.ok_or_else(|| Failure { retry: false, reason: "no parameter in the answer".into() })?;
    if parameter.r#type != Some(ParameterType::SecureString) {
        tracing::warn!(parameter = name, "the JWT key parameter is not a SecureString");
    }
    parameter.value.ok_or_else(|| Failure { retry: false, reason: "the parameter has no value".into() })
}

/// Whether a `GetParameter` error may pass, and how to describe it.
fn classify(err: SdkError<GetParameterError, aws_sdk_ssm::config::http::HttpResponse>) -> Failure {
    match err.as_service_error() {
        Some(service) => {
            let definitive = service.is_parameter_not_found()
                || service.is_parameter_version_not_found()
                || service.is_invalid_key_id()
                || service.code() == Some("ValidationException");
            let code = service.code().unwrap_or("unknown error");
            Failure { retry: !definitive, reason: format!("{code}: {}", service.message().unwrap_or_default()) }
        }
        // No answer from SSM: the network, the credentials, a timeout.
        None => Failure { retry: true, reason: format!("{:#}", anyhow::Error::from(err)) },
    }
}

/// Runs `attempt` until it succeeds, fails definitively, or `backoff.total` has passed.
async fn with_retries<F, Fut>(name: &str, backoff: Backoff, mut attempt: F) -> anyhow::Result<String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<String, Failure>>,
{
    let started = Instant::now();
    let mut delay = backoff.first;
    loop {
        let failure = match tokio::time::timeout(backoff.attempt, attempt()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(failure)) => failure,
            Err(_) => Failure { retry: true, reason: format!("no answer within {} s", backoff.attempt.as_secs()) },
        };
        let left = backoff.total.saturating_sub(started.elapsed());
        if !failure.retry {
            anyhow::bail!("cannot read the JWT key from the SSM parameter {name} (GetParameter): {}", failure.reason);
        }
        if left.is_zero() {
            anyhow::bail!(
                "cannot read the JWT key from the SSM parameter {name} (GetParameter): {}; still failing after retrying for {} s",
                failure.reason,
                started.elapsed().as_secs()
            );
        }
        let wait = delay.mul_f64(rand::random_range(0.5..=1.0)).min(left);
        tracing::warn!(parameter = name, error = %failure.reason, retry_in = ?wait, "cannot read the JWT key yet; retrying");
        tokio::time::sleep(wait).await;
        delay = (delay * 2).min(backoff.max);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    const QUICK: Backoff = Backoff {
        first: Duration::from_millis(5),
        max: Duration::from_millis(20),
        attempt: Duration::from_millis(200),
        total: Duration::from_millis(300),
    };

    fn failure(retry: bool, reason: &str) -> Failure {
        Failure { retry, reason: reason.into() }
    }

    #[tokio::test]
    async fn failures_that_may_pass_are_retried_until_the_value_comes() {
        let calls = Cell::new(0);
        let value = with_retries("/p", QUICK, || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { if n < 3 { Err(failure(true, "AccessDeniedException: not yet")) } else { Ok("k".repeat(32)) } }
        })
        .await
        .unwrap();
        assert_eq!((value.len(), calls.get()), (32, 3));
    }

    #[tokio::test]
    async fn a_definitive_failure_stops_at_once_and_names_the_parameter() {
        let calls = Cell::new(0);
        let err = with_retries("/cloudcomp/jwt", QUICK, || {
            calls.set(calls.get() + 1);
            async { Err(failure(false, "ParameterNotFound: no such parameter")) }
        })
        .await
        .unwrap_err()
        .to_string();
        assert_eq!(calls.get(), 1);
        assert!(err.contains("/cloudcomp/jwt") && err.contains("ParameterNotFound"), "{err}");
    }

    #[tokio::test]
    async fn retrying_gives_up_after_the_budget_with_the_last_code() {
        let started = Instant::now();
        let err = with_retries("/p", QUICK, || async { Err(failure(true, "ThrottlingException: slow down")) })
            .await
            .unwrap_err()
            .to_string();
        assert!(started.elapsed() >= QUICK.total && started.elapsed() < QUICK.total * 3);
        assert!(err.contains("ThrottlingException") && err.contains("after retrying for"), "{err}");
    }

    #[tokio::test]
    async fn an_attempt_that_hangs_counts_as_a_failure_that_may_pass() {
        let calls = Cell::new(0);
        let value = with_retries("/p", QUICK, || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n == 1 {
                    std::future::pending::<()>().await;
                }
                Ok("k".repeat(32))
            }
        })
        .await
        .unwrap();
        assert_eq!((value.len(), calls.get()), (32, 2));
    }
}
