//! Crash safety against a real moto_server: `up` and `destroy` are cut off by SIGKILL
//! (the `CLOUDCOMP_CRASH_AFTER_STEPS` hook: after step N has finished at AWS and before the
//! state records it) at every step N of the default stack. After each crash the next run
//! must converge: `up` leaves exactly one of every resource (counted by tag through the AWS
//! API) and `destroy` leaves none. With `CLOUDCOMP_TEST_STRICT` set, AWS behaves as it
//! really does (ids lag after a create, tags lag, interfaces linger), and every third crash
//! point is tried (each run then waits out AWS-like delays).

mod support;

use std::os::unix::process::ExitStatusExt;

use cloudcomp::aws::Cx;
use cloudcomp::crash::CRASH_AFTER_STEPS;
use support::{Aws, assert_exactly_the_stack, census, default_stack, expected, left_over, moto, run_with, stderr};

/// Steps in the default stack: every crash point.
fn steps() -> usize {
    expected("x").values().sum()
}

/// Runs `cloudcomp <command>` on the stack, killed after `crash_after` steps when given.
async fn cloudcomp(
    aws: &Aws,
    command: &str,
    file: &str,
    state: &str,
    crash_after: Option<usize>,
) -> std::process::Output {
    let endpoint = aws.url();
    let args = [command, "-f", file, "--state", state, "--endpoint-url", &endpoint];
    match crash_after {
        Some(n) => run_with(&args, &[(CRASH_AFTER_STEPS, &n.to_string())]).await,
        None => run_with(&args, &[]).await,
    }
}

fn assert_killed(output: &std::process::Output, what: &str) {
    assert_eq!(output.status.signal(), Some(9), "{what} was not cut off: {:?}\n{}", output.status, stderr(output));
}

fn assert_ok(output: &std::process::Output, what: &str) {
    assert!(output.status.success(), "{what} failed: {}", stderr(output));
}

/// At crash point `n`: up cut off → destroy leaves nothing; up cut off → up converges with
/// no duplicate → destroy cut off → destroy leaves nothing.
async fn survives_a_crash_after(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("crash{}n{n}", std::process::id());
    let file = default_stack(dir.path(), &name);
    let state = dir.path().join("state.json");
    let state = state.to_str().unwrap();
    let aws = Aws::start().await;
    let cx = Cx::connect(&name, "us-east-1", Some(&moto()), None).await;
    let nothing = left_over(census(&cx).await);
    assert!(nothing.is_empty(), "stack {name} is not fresh: {nothing:?}");

    assert_killed(&cloudcomp(&aws, "up", &file, state, Some(n)).await, &format!("up (crash after {n})"));
    assert_ok(&cloudcomp(&aws, "destroy", &file, state, None).await, "destroy after a crashed up");
    let left = left_over(census(&cx).await);
    assert!(left.is_empty(), "crash after step {n}, then destroy, left: {left:?}");

    assert_killed(&cloudcomp(&aws, "up", &file, state, Some(n)).await, &format!("up (crash after {n})"));
    let resumed = cloudcomp(&aws, "up", &file, state, None).await;
    assert_ok(&resumed, "up after a crashed up");
    assert_exactly_the_stack(&census(&cx).await, &name, &format!("crash after step {n}, then up"));
    assert_eq!(cloudcomp(&aws, "plan", &file, state, None).await.status.code(), Some(0), "up did not converge");

    assert_killed(&cloudcomp(&aws, "destroy", &file, state, Some(n)).await, &format!("destroy (crash after {n})"));
    assert_ok(&cloudcomp(&aws, "destroy", &file, state, None).await, "destroy after a crashed destroy");
    let left = left_over(census(&cx).await);
    assert!(left.is_empty(), "destroy cut off after step {n}, then destroy, left: {left:?}");
    eprintln!("REPORT crash-point {n}: up/up, up/destroy, destroy/destroy converged");
}

/// Every crash point `n` with `n % of == part`, one after another.
async fn crash_points(part: usize, of: usize) {
    let steps = steps();
    assert!(steps >= 20, "the default stack has {steps} steps");
    let every = if support::strictness().is_some() { 3 } else { 1 };
    for n in (1..=steps).filter(|n| n % of == part && (n / of).is_multiple_of(every)) {
        survives_a_crash_after(n).await;
    }
}

// Four tests so that the runner spreads the crash points over its threads.
#[tokio::test(flavor = "multi_thread")]
async fn every_crash_point_converges_part_1() {
    crash_points(0, 4).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_crash_point_converges_part_2() {
    crash_points(1, 4).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_crash_point_converges_part_3() {
    crash_points(2, 4).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_crash_point_converges_part_4() {
    crash_points(3, 4).await;
}
