//! The `segmenter` binary: parse arguments, run the command, exit with its code.

use clap::Parser;

fn main() {
    let cli = segmenter::cli::Cli::parse();
    std::process::exit(segmenter::app::main_with(cli));
}
