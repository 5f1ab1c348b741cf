//! The `cloudcomp` binary: parses arguments and hands over to the library.

mod cli;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    let name = match &cli.command {
        cli::Command::Up(_) => "up",
        cli::Command::Plan(_) => "plan",
        cli::Command::Status(_) => "status",
        cli::Command::Destroy(_) => "destroy",
    };
    anyhow::bail!("`cloudcomp {name}` is not available yet in this build")
}
