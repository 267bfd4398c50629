//! segmenter: customer segments and loyalty tiers as code.
//!
//! The pipeline runs one way, one module per stage:
//! [`project`] (load) → [`validate`] → [`compile`] (pure) → [`execute`] → [`publish`] → [`report`].
//! See ARCHITECTURE.md for the stage table. [`suggest`] helps choose thresholds from a project
//! computed in memory.

pub mod app;
pub mod campaigns;
pub mod cli;
pub mod compile;
pub mod diagnostics;
pub mod error;
pub mod execute;
pub mod generate;
pub mod init;
pub mod models;
pub mod project;
pub mod postgres;
pub mod publish;
pub mod report;
pub mod signals;
pub mod spark;
pub mod suggest;
pub mod testing;
pub mod validate;

pub use error::{Error, Result};
