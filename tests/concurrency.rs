//! Two runs on one state file: while `up` runs, a second `up` exits at once with "locked by
//! pid … since …" and changes nothing; once the first is killed (no cleanup), its stale
//! lock is taken over by the next run, which converges.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_proxy::{Faults, Proxy};
use cloudcomp::aws::Cx;
use support::{assert_exactly_the_stack, census, default_stack, left_over, moto, moto_addr, run_with, stderr};

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_is_refused_while_the_first_holds_the_lock_and_a_dead_runs_lock_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("lock{}", std::process::id());
    let file = default_stack(dir.path(), &name);
    let state = dir.path().join("state.json");
    let lock = dir.path().join("state.json.lock");
    // A slow AWS, so that the first run is still going when the second starts.
    let slow = Proxy::start("127.0.0.1:0".parse().unwrap(), moto_addr(), Duration::from_millis(150), Faults::NONE)
        .await
        .unwrap();
    let args = ["up", "-f", &file, "--state", state.to_str().unwrap(), "--endpoint-url", &slow.url()];
    let mut first = Command::new(env!("CARGO_BIN_EXE_cloudcomp"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // The lock names its holder once it is held.
    while std::fs::read_to_string(&lock).unwrap_or_default().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(30), "the first run never took the lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The second run goes through a proxy of its own, to count its calls.
    let watched =
        Proxy::start("127.0.0.1:0".parse().unwrap(), moto_addr(), Duration::ZERO, Faults::NONE).await.unwrap();
    let second_args = ["up", "-f", &file, "--state", state.to_str().unwrap(), "--endpoint-url", &watched.url()];
    let second = run_with(&second_args, &[]).await;
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    let message = stderr(&second);
    assert!(message.contains(&format!("is locked by pid {} since ", first.id())), "{message}");
    assert!(watched.calls().is_empty(), "the refused run called AWS: {:?}", watched.calls());
    assert!(first.try_wait().unwrap().is_none(), "the first run should still be going");

    // kill -9 the first: the kernel releases its lock; the file still names the dead process.
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(!std::fs::read_to_string(&lock).unwrap().is_empty(), "a killed run cannot empty its lock file");
    let resumed =
        run_with(&["up", "-f", &file, "--state", state.to_str().unwrap(), "--endpoint-url", &moto()], &[]).await;
    assert!(resumed.status.success(), "the stale lock was not taken over: {}", stderr(&resumed));
    assert!(std::fs::read_to_string(&lock).unwrap().is_empty(), "the lock was not released");
    let cx = Cx::connect(&name, "us-east-1", Some(&moto()), None).await;
    assert_exactly_the_stack(&census(&cx).await, &name, "up after a killed up");
    let down =
        run_with(&["destroy", "-f", &file, "--state", state.to_str().unwrap(), "--endpoint-url", &moto()], &[]).await;
    assert!(down.status.success(), "{}", stderr(&down));
    assert!(left_over(census(&cx).await).is_empty());
    eprintln!(
        "REPORT lock: a second up while one runs → exit 1 \"locked by pid … since …\", 0 AWS calls; \
         a kill -9'd run's lock taken over, stack converged"
    );
}
