//! Riding out AWS while it catches up. AWS is eventually consistent: an id a Create* just
//! returned may be unknown to the next call for seconds (EC2 API reference, "Eventual
//! consistency"), a new instance profile is not usable by Auto Scaling for seconds (IAM user
//! guide, "Changes that I make are not always immediately visible"), and network interfaces
//! of a deleted load balancer or terminated instance hold their subnet, group and VPC for
//! minutes. Each of these refusals is a [`CatchUp`]: the error codes (and, for codes AWS
//! also uses for real mistakes, the words of the message) that mean "not yet", and how long
//! to keep trying. Kinds declare theirs and pass them to [`retrying`] — one mechanism, not
//! a loop per call. Throttling and 5xx answers are the SDK's own retry's business.

use std::future::Future;
use std::time::Duration;

use super::note_wait;
use super::refusal::{Refusal, Refused};

/// A refusal that means "AWS has not caught up yet", and how long to wait it out.
#[derive(Debug, Clone, Copy)]
pub struct CatchUp {
    /// AWS error codes that mean "not yet".
    pub codes: &'static [&'static str],
    /// When not empty, the message must also contain one of these (for codes such as
    /// `ValidationError` that AWS also answers to a real mistake).
    pub message: &'static [&'static str],
    /// How long to keep trying before giving up.
    pub patience: Duration,
    /// What the step waits for, as its progress line says it.
    pub waiting_for: &'static str,
}

impl CatchUp {
    /// Whether `refusal` is this "not yet".
    pub fn matches(&self, refusal: &Refusal) -> bool {
        refusal.is(self.codes) && (self.message.is_empty() || self.message.iter().any(|m| refusal.message.contains(m)))
    }
}

/// An EC2 id that a Create* answered but that other EC2 calls do not know yet. Terraform's
/// AWS provider waits out the same for 2 minutes (its `PropagationTimeout`).
pub const NEW_EC2_ID: CatchUp = CatchUp {
    codes: &[
        "InvalidVpcID.NotFound",
        "InvalidSubnetID.NotFound",
        "InvalidInternetGatewayID.NotFound",
        "InvalidGatewayID.NotFound",
        "InvalidRouteTableID.NotFound",
        "InvalidGroup.NotFound",
        "InvalidLaunchTemplateId.NotFound",
    ],
    message: &[],
    patience: Duration::from_secs(120),
    waiting_for: "EC2 to see what was just created",
};

/// An IAM entity (role, profile) created moments ago that IAM does not find yet.
pub const NEW_IAM_ENTITY: CatchUp = CatchUp {
    codes: &["NoSuchEntity"],
    message: &[],
    patience: Duration::from_secs(120),
    waiting_for: "IAM to see the new role",
};

/// Network interfaces, public addresses or instances still holding what is being deleted
/// (they linger for minutes after a load balancer or instance is gone).
pub const RELEASE: CatchUp = CatchUp {
    codes: &["DependencyViolation"],
    message: &[],
    patience: Duration::from_secs(20 * 60),
    waiting_for: "network interfaces to be released",
};

/// The first pause between attempts; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(250);

/// The longest pause between attempts.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// Calls `call` until it succeeds or fails with something none of `catch_up` covers, or
/// until the matching one's patience runs out; the refusal then says how long it retried.
pub async fn retrying<T, F, Fut, R>(catch_up: &[CatchUp], mut call: F) -> Result<T, Refusal>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = R>,
    R: Refused<T>,
{
    let started = tokio::time::Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut noted = false;
    loop {
        let refusal = match call().await.refused() {
            Ok(done) => return Ok(done),
            Err(refusal) => refusal,
        };
        let waited = if noted { started.elapsed() } else { Duration::ZERO };
        let Some(matching) = catch_up.iter().find(|c| c.matches(&refusal)) else {
            return Err(Refusal { retried: waited, ..refusal });
        };
        let waited = started.elapsed();
        if waited >= matching.patience {
            return Err(Refusal { retried: waited, ..refusal });
        }
        if !noted {
            note_wait(matching.waiting_for);
            noted = true;
        }
        tokio::time::sleep(pause.min(matching.patience - waited)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn refusal(code: &str, message: &str) -> Refusal {
        Refusal {
            action: "CreateThing".into(),
            code: Some(code.into()),
            message: message.into(),
            retried: Duration::ZERO,
        }
    }

    const PROFILE: CatchUp = CatchUp {
        codes: &["ValidationError"],
        message: &["Invalid IAM Instance Profile"],
        patience: Duration::from_secs(1),
        waiting_for: "the instance profile",
    };

    #[tokio::test]
    async fn a_not_yet_is_retried_until_it_passes() {
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let result = retrying(&[NEW_EC2_ID], || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0..2 => Err(refusal("InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist")),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(result, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // Pauses of 250 and 500 ms between the attempts.
        assert!(started.elapsed() >= Duration::from_millis(750));
    }

    #[tokio::test]
    async fn anything_else_fails_at_once() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retrying(&[NEW_EC2_ID, PROFILE], || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(refusal("ValidationError", "Max bigger than min"))
        })
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a ValidationError without the profile words is a real mistake");
        assert_eq!(result.unwrap_err().retried, Duration::ZERO);
    }

    #[tokio::test]
    async fn patience_runs_out_and_the_refusal_says_how_long() {
        let result: Result<(), _> = retrying(&[PROFILE], || async {
            Err(refusal(
                "ValidationError",
                "Value (p) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name",
            ))
        })
        .await;
        let refusal = result.unwrap_err();
        assert!(refusal.retried >= Duration::from_secs(1), "{refusal:?}");
        assert!(refusal.to_string().ends_with("still failing after 1s of retries"), "{refusal}");
    }
}
