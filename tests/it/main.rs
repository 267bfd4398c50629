//! The one integration-test binary (each test binary links DuckDB, so there is only one).

mod campaigns;
mod cli_errors;
mod corpus;
mod diff;
mod engine;
mod environments;
mod explain;
mod exports;
mod fixture;
mod incremental;
mod library;
mod library_doc;
mod memory;
mod models;
mod postgres;
mod publish;
mod report;
mod sample;
mod security;
mod sources;
mod spark;
mod suggest;
mod testcmd;
mod support;
