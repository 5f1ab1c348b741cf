//! cloudcomp: one binary that builds, ships and provisions a load-balanced, auto-scaling API.
//!
//! # Layout
//! - [`stack`]: the YAML stack file → a typed, validated model (pure).
//! - [`cli`]: the command line (clap definitions only); `main.rs` dispatches.
//!
//! Planning is pure and effects are at the edge: the stack becomes a model, the model a
//! resource graph, the graph is diffed against the state file into a plan, and only the
//! engine calls AWS.

pub mod cli;
pub mod stack;
