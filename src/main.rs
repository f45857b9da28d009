//! The `tweetstream` binary: parses the command line and runs one subcommand.

use clap::Parser;
use std::process::ExitCode;
use tweetstream::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tweetstream::logging::init(&cli.log, cli.log_format, cli.color);
    let result = match cli.command {
        Command::Demo(args) => cli::demo::run(args),
        Command::Replay(args) => cli::replay::run(args),
        Command::Live(args) => cli::live::run(args),
        Command::Stream(args) => cli::stream::run(*args),
        Command::Query(args) => cli::query::run(args),
        Command::Lab(args) => cli::lab::run(args),
        Command::Load(args) => cli::load::run(args),
        Command::Produce(args) => cli::produce::run(args),
        Command::Vader(args) => cli::score::vader(args),
        Command::Textblob(args) => cli::score::textblob(args),
        Command::Checkpoint(args) => cli::checkpoint::run(args),
        Command::Fixtures(args) => cli::fixtures::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed stdout (`| head`) ends the program quietly, like SIGPIPE would.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            tweetstream::logging::say(format_args!("tweetstream: error: {e:#}\n"));
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
