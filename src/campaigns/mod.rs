//! Campaign measurement: what each campaign did per segment and tier level ([`measure`]), with
//! the two-proportion statistics of holdout tests ([`stats`]).

pub mod measure;
pub mod stats;
