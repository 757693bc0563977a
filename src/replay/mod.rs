//! What the verbose output is made of: a read-only [`StateProvider`] and the one renderer.
//!
//! The live run renders from the engine's state; replay (from the stored dataset) renders
//! from stored state rows through the same renderer, so both print the same text.

mod render;
mod state;
#[cfg(feature = "dataset")]
pub mod stored;

pub use render::{Renderer, format_cents, render_summary};
pub use state::{AgentSnapshot, LiveState, StateProvider};
