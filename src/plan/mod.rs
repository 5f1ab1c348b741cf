//! Planning, pure: the stack → desired resources ([`desired`]) → a dependency graph
//! ([`graph`], ordered by [`crate::dag`]'s queue) → a [`Plan`] against the recorded state
//! ([`diff`]). Nothing here touches AWS or tokio; the engine applies what the plan says.

pub mod desired;
pub mod diff;
pub mod graph;

pub use crate::dag::DependencyQueue;
pub use desired::{STACK_TAG, desired};
pub use diff::{Action, AttrChange, Change, Plan, diff};
pub use graph::{Address, Resource};
