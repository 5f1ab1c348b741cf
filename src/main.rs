//! The `cloudcomp` binary: parses arguments and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use cloudcomp::cli::{Cli, Command};
use cloudcomp::commands::{self, EXIT_CHANGES};
use cloudcomp::local;
use cloudcomp::stack::{self, StackError};

fn main() -> ExitCode {
    // Started under the app's name (`up --local`'s process runtime links it so): be the app.
    if started_as_app() {
        return match cloudcomp_app::run(std::env::args_os()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        };
    }
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Schema => {
            println!("{:#}", stack::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate(args) => commands::validate(args),
        Command::Build(args) => runtime().and_then(|rt| rt.block_on(commands::build(args))),
        Command::Plan(args) => runtime().and_then(|rt| rt.block_on(commands::plan(args))),
        Command::Up(args) => runtime().and_then(|rt| rt.block_on(commands::up(args))),
        Command::Destroy(args) => runtime().and_then(|rt| rt.block_on(commands::destroy(args))),
        Command::LocalSupervisor(args) => runtime().and_then(|rt| rt.block_on(commands::local_supervisor(args))),
        Command::Status(args) => runtime().and_then(|rt| rt.block_on(commands::status(args))),
        Command::Rollback(args) => runtime().and_then(|rt| rt.block_on(commands::rollback::rollback(args))),
    };
    match outcome {
        Ok(code) => code,
        // `cloudcomp status | head`: the reader left; that is not an error (as in ripgrep).
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) if err.downcast_ref::<StackError>().is_some() => {
            eprintln!("error: {err}");
            ExitCode::from(EXIT_CHANGES)
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn started_as_app() -> bool {
    let program = std::env::args_os().next().map(std::path::PathBuf::from);
    program.is_some_and(|p| p.file_name() == Some(std::ffi::OsStr::new(local::APP_NAME)))
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
