//! Replay of a stored simulation: [`stored`] answers the renderer's questions from stored
//! rows, so the one renderer of [`crate::state`] prints what the live run printed.

#[cfg(feature = "dataset")]
pub mod stored;
