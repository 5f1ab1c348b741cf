//! The `cloudcomp-app` binary: see [`cloudcomp_app::run`].

fn main() -> anyhow::Result<()> {
    cloudcomp_app::run(std::env::args_os())
}
