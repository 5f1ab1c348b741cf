//! cloudcomp: one binary that builds, ships and provisions a load-balanced, auto-scaling API.
//!
//! # Layout
//! - [`dag`]: addresses, references between resources and the dependency queue: what
//!   planning and the state file share (a leaf).
//! - [`stack`]: the YAML stack file → a typed, validated model (pure).
//! - [`plan`]: the model → desired resources → a dependency graph → a plan against the
//!   recorded state (pure).
//! - [`state`]: the state file: atomic writes, mode 0600, a lock against concurrent runs.
//! - [`ui`]: the plan and status as text or JSON.
//! - [`refresh`]: reads the recorded resources live and folds drift into the state.
//! - [`timings`]: each step's time and the critical path through the graph (`up --timings`).
//! - [`image`]: the app image: static binary, build context, bollard build and push.
//! - [`ship`]: which registry the image goes to, and pushing it there during `up`.
//! - [`local`]: `--local`: replicas, a load balancer and the scaling on one machine.
//! - [`executor`]: the one executor every graph of AWS work runs on (priority, bounded
//!   concurrency, stop after the first failure, typed [`executor::ApplyError`]).
//! - [`engine`]: applies a plan concurrently, checkpointing the state after every step.
//! - [`recover`]: adopts what a cut-off run created but did not record.
//! - [`crash`]: the test hook that cuts a run off after a given step.
//! - [`aws`]: one module per resource kind, the only place SDK calls live.
//! - [`cli`]: the command line (clap definitions only); `main.rs` dispatches.
//!
//! Planning is pure and effects are at the edge: the stack becomes a model, the model a
//! resource graph, the graph is diffed against the state file into a plan, and only the
//! engine calls AWS.

pub mod aws;
pub mod cli;
pub mod commands;
pub mod crash;
pub mod dag;
pub mod deploys;
pub mod engine;
pub mod executor;
pub mod image;
pub mod local;
pub mod plan;
pub mod recover;
pub mod refresh;
pub mod ship;
pub mod stack;
pub mod state;
pub mod timings;
pub mod ui;
