//! `aws-proxy <listen> <upstream> [delay-ms]`: forwards AWS calls to moto_server, each
//! delayed by `delay-ms` (default 0); prints its URL, and on Ctrl-C how many calls it saw.
//! bench/provision.sh uses it to time `up` at AWS-like latencies.

use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, upstream, rest @ ..] = args.as_slice() else {
        eprintln!("usage: aws-proxy <listen addr> <upstream addr> [delay ms]");
        std::process::exit(2);
    };
    let delay = Duration::from_millis(rest.first().map(|d| d.parse()).transpose()?.unwrap_or(0));
    let proxy = aws_proxy::Proxy::start(listen.parse()?, upstream.parse()?, delay).await?;
    println!("{}", proxy.url());
    tokio::signal::ctrl_c().await?;
    eprintln!("{} calls, {} mutating", proxy.calls().len(), proxy.calls().iter().filter(|c| c.is_mutating()).count());
    Ok(())
}
