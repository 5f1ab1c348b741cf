//! `aws-proxy <listen> <upstream> [delay-ms] [error-rate]`: forwards AWS calls to
//! moto_server, each delayed by `delay-ms` (default 0), answering a share `error-rate`
//! (0.0–1.0, default 0) with injected throttling and 5xx errors (and delaying as many by up
//! to 300 ms); prints its URL, and on Ctrl-C how many calls it saw and failed.
//! bench/provision.sh uses it to time `up` at AWS-like latencies; bench/reliability.sh to
//! run `up` and `destroy` through faults.

use std::time::Duration;

use aws_proxy::Faults;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, upstream, rest @ ..] = args.as_slice() else {
        eprintln!("usage: aws-proxy <listen addr> <upstream addr> [delay ms] [error rate]");
        std::process::exit(2);
    };
    let delay = Duration::from_millis(rest.first().map(|d| d.parse()).transpose()?.unwrap_or(0));
    let error_rate: f64 = rest.get(1).map(|r| r.parse()).transpose()?.unwrap_or(0.0);
    let faults = Faults { error_rate, delay_rate: error_rate, ..Faults::ONE_IN_FIVE };
    let proxy = aws_proxy::Proxy::start(listen.parse()?, upstream.parse()?, delay, faults).await?;
    println!("{}", proxy.url());
    tokio::signal::ctrl_c().await?;
    let calls = proxy.calls();
    let mutating = calls.iter().filter(|c| c.is_mutating()).count();
    let failed = calls.iter().filter(|c| c.fault.is_some()).count();
    eprintln!("{} calls, {mutating} mutating, {failed} answered with an injected error", calls.len());
    Ok(())
}
