//! Faults: `up` and `destroy` through a proxy that answers one AWS call in five with
//! throttling (400 `Throttling`/`RequestLimitExceeded`/`ThrottlingException`), 500 or 503,
//! and delays one in five by up to 300 ms. Both must succeed on the SDK's retry alone, and
//! the stack must come out exactly right: one of everything after `up`, nothing after
//! `destroy`, counted through the AWS API behind the proxy.

mod support;

use aws_proxy::Faults;
use cloudcomp::aws::Cx;
use support::{Aws, assert_exactly_the_stack, census, default_stack, left_over, moto, run_with, stderr};

#[tokio::test(flavor = "multi_thread")]
async fn up_and_destroy_ride_out_one_failed_call_in_five() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("faults{}", std::process::id());
    let file = default_stack(dir.path(), &name);
    let proxy = Aws::with_faults(Faults::ONE_IN_FIVE).await;
    let endpoint = proxy.url();
    let cx = Cx::connect(&name, "us-east-1", Some(&moto()), None).await;

    let up = run_with(&["up", "-f", &file, "--endpoint-url", &endpoint], &[]).await;
    assert!(up.status.success(), "up failed through faults: {}", stderr(&up));
    assert_exactly_the_stack(&census(&cx).await, &name, "up through faults");
    let plan = run_with(&["plan", "-f", &file, "--endpoint-url", &endpoint], &[]).await;
    assert_eq!(plan.status.code(), Some(0), "the stack is not as planned: {}", stderr(&plan));

    let down = run_with(&["destroy", "-f", &file, "--endpoint-url", &endpoint], &[]).await;
    assert!(down.status.success(), "destroy failed through faults: {}", stderr(&down));
    let left = left_over(census(&cx).await);
    assert!(left.is_empty(), "destroy through faults left {left:?}");

    let calls = proxy.calls();
    let failed = calls.iter().filter(|c| c.fault.is_some() && c.strict.is_none()).count();
    let share = failed as f64 / calls.len() as f64;
    assert!(calls.len() > 100 && (0.1..0.3).contains(&share), "{failed} of {} calls failed", calls.len());
    eprintln!(
        "REPORT faults: up, plan, destroy through {} AWS calls, {failed} answered with injected errors ({:.0} %), \
         stack exact after up, nothing left after destroy",
        calls.len(),
        share * 100.0
    );
}
