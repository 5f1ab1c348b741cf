//! `aws-proxy <listen> <upstream> [delay-ms] [error-rate] [--strict] [--strict-scale F]`:
//! forwards AWS calls to moto_server, each delayed by `delay-ms` (default 0), answering a
//! share `error-rate` (0.0–1.0, default 0) with injected throttling and 5xx errors (and
//! delaying as many by up to 300 ms); with `--strict`, makes moto behave like AWS
//! (`Strict::aws_like`: eventual consistency, IAM propagation, lingering network interfaces,
//! load balancers provisioning, instances booting), its delays multiplied by `F` with
//! `--strict-scale F` (which implies `--strict`). In every mode it answers the instance refresh
//! actions itself and carries them out in moto (see the crate's documentation). Prints its URL,
//! and on Ctrl-C how many calls it saw, failed and refused. bench/provision.sh uses it to time
//! `up` at AWS-like latencies; bench/reliability.sh to run `up` and `destroy` through faults.

use std::time::Duration;

use aws_proxy::{Faults, Setup, Strict};

const USAGE: &str =
    "usage: aws-proxy <listen addr> <upstream addr> [delay ms] [error rate] [--strict] [--strict-scale F]";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut positional = Vec::new();
    let mut strict = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--strict" => strict = strict.or(Some(Strict::aws_like())),
            "--strict-scale" => {
                let factor: f64 = args.next().ok_or(USAGE)?.parse()?;
                strict = Some(Strict::aws_like().scaled(factor));
            }
            flag if flag.starts_with("--") => return Err(USAGE.into()),
            _ => positional.push(arg),
        }
    }
    let [listen, upstream, rest @ ..] = positional.as_slice() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let delay = Duration::from_millis(rest.first().map(|d| d.parse()).transpose()?.unwrap_or(0));
    let error_rate: f64 = rest.get(1).map(|r| r.parse()).transpose()?.unwrap_or(0.0);
    let faults = Faults { error_rate, delay_rate: error_rate, ..Faults::ONE_IN_FIVE };
    let setup = Setup { delay, faults, strict };
    let proxy = aws_proxy::Proxy::start_with(listen.parse()?, upstream.parse()?, setup).await?;
    println!("{}", proxy.url());
    tokio::signal::ctrl_c().await?;
    let calls = proxy.calls();
    let mutating = calls.iter().filter(|c| c.is_mutating()).count();
    let refused = calls.iter().filter(|c| c.is_strict_refusal()).count();
    let failed = calls.iter().filter(|c| c.fault.is_some()).count() - refused;
    eprintln!(
        "{} calls, {mutating} mutating, {failed} answered with an injected error, {refused} refused by strict mode",
        calls.len()
    );
    Ok(())
}
